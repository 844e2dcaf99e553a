package dev.entangle.core.safetensors;

import dev.entangle.core.CheckpointException;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Tensors held in memory (what a forward pass captured), served as a {@link TensorSource} as
 * though they were one safetensors file laid out in the order they were put: float32 tensors
 * (F32, given as one array or as consecutive parts, e.g. one per attention head) and integer
 * tensors (I64). {@link #write} writes them as that file.
 */
public final class MemoryTensors implements TensorSource {

    private record Tensor(TensorInfo info, float[][] parts, long[] ints) {}

    private final Path location;
    private final Map<String, String> metadata;
    private final Map<String, Tensor> tensors = new LinkedHashMap<>();
    private long end;

    /** {@code location} names the tensors in error messages (no file needs to exist there). */
    public MemoryTensors(Path location, Map<String, String> metadata) {
        this.location = location;
        this.metadata = Collections.unmodifiableMap(new LinkedHashMap<>(metadata));
    }

    /** A float32 tensor whose row-major values are the concatenation of {@code parts} (kept, not copied). */
    public synchronized MemoryTensors putFloats(String name, long[] shape, float[]... parts) {
        long n = 0;
        for (float[] p : parts) n += p.length;
        put(name, DType.F32, shape, n, new Tensor(null, parts.clone(), null));
        return this;
    }

    /** An I64 tensor (token ids, positions). */
    public synchronized MemoryTensors putInts(String name, long[] shape, long[] values) {
        put(name, DType.I64, shape, values.length, new Tensor(null, null, values.clone()));
        return this;
    }

    private void put(String name, DType dtype, long[] shape, long count, Tensor t) {
        if (tensors.containsKey(name)) throw new IllegalArgumentException(name + " is already held");
        TensorInfo info = new TensorInfo(location, name, dtype, shape, end, end + count * dtype.bytes());
        if (info.elementCount() != count) {
            throw new IllegalArgumentException(name + ": shape " + java.util.Arrays.toString(shape) + " holds " + info.elementCount() + " values, got " + count);
        }
        tensors.put(name, new Tensor(info, t.parts(), t.ints()));
        end = info.end();
    }

    private Tensor tensor(String name) {
        Tensor t = tensors.get(name);
        if (t == null) throw new CheckpointException(location, name, "tensor missing", null);
        return t;
    }

    @Override
    public Path location() { return location; }

    @Override
    public synchronized Set<String> names() { return Collections.unmodifiableSet(new java.util.LinkedHashSet<>(tensors.keySet())); }

    @Override
    public synchronized TensorInfo info(String name) { return tensor(name).info(); }

    @Override
    public synchronized double[] readDoubles(String name) {
        Tensor t = tensor(name);
        double[] out = new double[Math.toIntExact(t.info().elementCount())];
        if (t.ints() != null) {
            for (int i = 0; i < out.length; i++) out[i] = t.ints()[i];
            return out;
        }
        int at = 0;
        for (float[] p : t.parts()) for (float v : p) out[at++] = v;
        requireFinite(name, out);
        return out;
    }

    @Override
    public synchronized float[] readFloats(String name) {
        Tensor t = tensor(name);
        if (t.ints() != null) {
            float[] out = new float[t.ints().length];
            for (int i = 0; i < out.length; i++) out[i] = t.ints()[i];
            return out;
        }
        float[] out = new float[Math.toIntExact(t.info().elementCount())];
        int at = 0;
        for (float[] p : t.parts()) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        for (int i = 0; i < out.length; i++) {
            if (!Float.isFinite(out[i])) throw new CheckpointException(location, name, "non-finite value", out[i] + " at flat index " + i);
        }
        return out;
    }

    @Override
    public synchronized void requireFinite(String name) {
        Tensor t = tensor(name);
        if (t.parts() == null) return;
        long at = 0;
        for (float[] p : t.parts()) {
            for (float v : p) {
                if (!Float.isFinite(v)) throw new CheckpointException(location, name, "non-finite value", v + " at flat index " + at);
                at++;
            }
        }
    }

    private void requireFinite(String name, double[] values) {
        for (int i = 0; i < values.length; i++) {
            if (!Double.isFinite(values[i])) throw new CheckpointException(location, name, "non-finite value", values[i] + " at flat index " + i);
        }
    }

    @Override
    public synchronized void writeStandalone(String name, OutputStream out) throws IOException {
        Tensor t = tensor(name);
        TensorInfo info = t.info();
        SafetensorsHeader.write(out, List.of(new SafetensorsHeader.Entry(name, info.dtype(), info.shape(), info.byteLength())), Map.of());
        ByteBuffer buf = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
        if (t.ints() != null) {
            for (long v : t.ints()) {
                if (buf.remaining() < Long.BYTES) flush(out, buf);
                buf.putLong(v);
            }
        } else {
            for (float[] p : t.parts()) {
                for (float v : p) {
                    if (buf.remaining() < Float.BYTES) flush(out, buf);
                    buf.putFloat(v);
                }
            }
        }
        flush(out, buf);
    }

    private static void flush(OutputStream out, ByteBuffer buf) throws IOException {
        out.write(buf.array(), 0, buf.position());
        buf.clear();
    }

    @Override
    public Map<String, String> metadata() { return metadata; }

    /** All the tensors, in order, with the metadata, as one safetensors file (written atomically). */
    public synchronized void write(Path target) throws IOException {
        SafetensorsWriter w = new SafetensorsWriter();
        metadata.forEach(w::metadata);
        for (Tensor t : tensors.values()) {
            TensorInfo info = t.info();
            if (t.ints() != null) {
                double[] v = new double[t.ints().length];
                for (int i = 0; i < v.length; i++) v[i] = t.ints()[i];
                w.add(info.name(), DType.I64, info.shape(), v);
            } else {
                w.add(info.name(), info.shape(), t.parts());
            }
        }
        w.write(target);
    }

    @Override
    public void close() {
        // nothing to release: the arrays go with this object
    }
}
