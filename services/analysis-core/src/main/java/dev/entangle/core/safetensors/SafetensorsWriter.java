package dev.entangle.core.safetensors;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes well-formed safetensors files (for generated benchmark checkpoints, probes and tests).
 * Values are given as double and encoded into the tensor's dtype (F64, F32, F16 or BF16 with
 * round-to-nearest-even; I64 and I32 for integer tensors such as a probe's token ids), or as
 * float32 arrays written as F32 unchanged (a forward pass's captures). The file appears
 * atomically: written beside the target, then moved.
 */
public final class SafetensorsWriter {

    /** Values in row-major order: an array, or a generator called once per element (files larger than the heap). */
    private record Entry(String name, DType dtype, long[] shape, double[] values, java.util.function.DoubleSupplier generator, long count,
                         float[][] floats) {}

    private final List<Entry> entries = new ArrayList<>();
    private final Map<String, String> metadata = new LinkedHashMap<>();

    public SafetensorsWriter add(String name, DType dtype, long[] shape, double[] values) {
        long n = 1;
        for (long d : shape) n *= d;
        if (n != values.length) throw new IllegalArgumentException(name + ": shape holds " + n + " values, got " + values.length);
        if (!dtype.floating() && !integral(dtype)) throw new IllegalArgumentException(name + ": only float, I64 and I32 dtypes are written, not " + dtype);
        if (integral(dtype)) {
            for (double v : values) {
                if (v != Math.rint(v) || Math.abs(v) > (dtype == DType.I32 ? Integer.MAX_VALUE : 0x1p53)) {
                    throw new IllegalArgumentException(name + ": " + v + " is not an exact " + dtype + " value");
                }
            }
        }
        entries.add(new Entry(name, dtype, shape.clone(), values, null, n, null));
        return this;
    }

    /**
     * A float32 tensor written as F32, its values unchanged (in bulk, no per-element conversion):
     * the concatenation of {@code parts} in row-major order (e.g. one part per attention head).
     */
    public SafetensorsWriter add(String name, long[] shape, float[]... parts) {
        long n = 1;
        for (long d : shape) n = Math.multiplyExact(n, d);
        long given = 0;
        for (float[] p : parts) given += p.length;
        if (n != given) throw new IllegalArgumentException(name + ": shape holds " + n + " values, got " + given);
        entries.add(new Entry(name, DType.F32, shape.clone(), null, null, n, parts.clone()));
        return this;
    }

    private static boolean integral(DType dtype) { return dtype == DType.I64 || dtype == DType.I32; }

    /** A tensor whose values are generated while writing, in row-major order: never held in memory. */
    public SafetensorsWriter add(String name, DType dtype, long[] shape, java.util.function.DoubleSupplier generator) {
        long n = 1;
        for (long d : shape) n = Math.multiplyExact(n, d);
        if (!dtype.floating()) throw new IllegalArgumentException(name + ": only float dtypes are written, not " + dtype);
        entries.add(new Entry(name, dtype, shape.clone(), null, generator, n, null));
        return this;
    }

    public SafetensorsWriter metadata(String key, String value) {
        metadata.put(key, value);
        return this;
    }

    public void write(Path target) throws IOException {
        List<SafetensorsHeader.Entry> header = entries.stream()
                .map(e -> new SafetensorsHeader.Entry(e.name(), e.dtype(), e.shape(), e.count() * e.dtype().bytes())).toList();
        Path tmp = Files.createTempFile(target.toAbsolutePath().getParent(), "." + target.getFileName(), ".tmp");
        try (OutputStream out = new java.io.BufferedOutputStream(Files.newOutputStream(tmp), 1 << 20)) {
            SafetensorsHeader.write(out, header, metadata);
            for (Entry e : entries) {
                if (e.floats() != null) for (float[] part : e.floats()) writeFloats(out, part);
                else if (e.values() != null) writeValues(out, e.dtype(), e.values().length, i -> e.values()[(int) i]);
                else writeValues(out, e.dtype(), e.count(), i -> e.generator().getAsDouble());
            }
        } catch (IOException | RuntimeException ex) {
            Files.deleteIfExists(tmp);
            throw ex;
        }
        Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    private static void writeValues(OutputStream out, DType dtype, long count, java.util.function.LongToDoubleFunction v) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
        for (long i = 0; i < count; i++) {
            double x = v.applyAsDouble(i);
            if (buf.remaining() < 8) {
                out.write(buf.array(), 0, buf.position());
                buf.clear();
            }
            switch (dtype) {
                case F64 -> buf.putDouble(x);
                case F32 -> buf.putFloat((float) x);
                case F16 -> buf.putShort(Float.floatToFloat16((float) x));
                case BF16 -> buf.putShort(toBfloat16((float) x));
                case I64 -> buf.putLong((long) x);
                case I32 -> buf.putInt((int) x);
                default -> throw new IllegalArgumentException("cannot write " + dtype);
            }
        }
        out.write(buf.array(), 0, buf.position());
    }

    private static void writeFloats(OutputStream out, float[] values) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
        java.nio.FloatBuffer floats = buf.asFloatBuffer();
        for (int i = 0; i < values.length; ) {
            int count = Math.min(floats.capacity(), values.length - i);
            floats.clear();
            floats.put(values, i, count);
            out.write(buf.array(), 0, count * Float.BYTES);
            i += count;
        }
    }

    /** float32 → bfloat16 with round-to-nearest-even (NaN stays NaN). */
    static short toBfloat16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if (Float.isNaN(f)) return (short) ((bits >>> 16) | 0x40);
        int rounding = 0x7FFF + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }
}
