package dev.entangle.core.safetensors;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.entangle.core.CheckpointException;
import dev.entangle.core.json.JsonTree;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One safetensors file, validated by the format's rules when opened. Only the header is read
 * then; each tensor is memory-mapped on demand, so reading one tensor never loads the file.
 *
 * <p>Format: an unsigned 64-bit little-endian header length N, then N bytes of UTF-8 JSON
 * (an object, first byte '{', trailing spaces allowed) mapping names to
 * {@code {dtype, shape, data_offsets:[begin,end]}} plus an optional {@code __metadata__}
 * string map, then the data buffer. Offsets are relative to the buffer and must tile it
 * exactly: no overlaps, no holes, nothing outside.
 */
public final class SafetensorsFile implements TensorSource {

    /** The format caps the header at 100 MB (safetensors' MAX_HEADER_SIZE). */
    public static final long MAX_HEADER_BYTES = 100_000_000L;

    private final Path file;
    private final FileChannel channel;
    private final long dataStart;
    private final Map<String, TensorInfo> tensors;
    private final Map<String, String> metadata;

    private SafetensorsFile(Path file, FileChannel channel, long dataStart,
                            Map<String, TensorInfo> tensors, Map<String, String> metadata) {
        this.file = file;
        this.channel = channel;
        this.dataStart = dataStart;
        this.tensors = tensors;
        this.metadata = metadata;
    }

    /** Opens and validates a file; a {@link CheckpointException} names the rule broken. */
    public static SafetensorsFile open(Path file) {
        refuseUnsafeFormats(file);
        FileChannel channel;
        try {
            channel = FileChannel.open(file, StandardOpenOption.READ);
        } catch (IOException e) {
            throw new CheckpointException(file, null, "unreadable file", e.getMessage(), e);
        }
        try {
            long size = channel.size();
            if (size < 8) {
                throw new CheckpointException(file, null, "truncated file",
                        "only " + size + " bytes, the 8-byte header length is missing");
            }
            ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(channel, lenBuf, 0);
            long headerLen = lenBuf.getLong(0);
            if (headerLen < 0 || headerLen > MAX_HEADER_BYTES) {
                throw new CheckpointException(file, null, "header too large",
                        "declared header length " + Long.toUnsignedString(headerLen)
                                + " bytes exceeds the 100 MB limit");
            }
            if (8 + headerLen > size) {
                throw new CheckpointException(file, null, "header length beyond end of file",
                        "declared " + headerLen + " header bytes but the file has " + (size - 8) + " after the length");
            }
            if (headerLen < 2) {
                throw new CheckpointException(file, null, "header not a JSON object", "header is " + headerLen + " bytes");
            }
            ByteBuffer header = ByteBuffer.allocate((int) headerLen);
            readFully(channel, header, 8);
            byte[] bytes = header.array();
            if (bytes[0] != '{') {
                throw new CheckpointException(file, null, "header not a JSON object", "header must start with '{'");
            }
            String json = decodeUtf8(file, bytes);
            long dataStart = 8 + headerLen;
            long dataSize = size - dataStart;
            Map<String, String> metadata = new LinkedHashMap<>();
            Map<String, TensorInfo> tensors = parseHeader(file, json, dataSize, metadata);
            return new SafetensorsFile(file, channel, dataStart, Collections.unmodifiableMap(tensors),
                    Collections.unmodifiableMap(metadata));
        } catch (RuntimeException | IOException e) {
            closeQuietly(channel);
            if (e instanceof CheckpointException ce) throw ce;
            throw new CheckpointException(file, null, "unreadable file", e.getMessage(), e);
        }
    }

    /** File suffixes of pickle-based formats (PyTorch's torch.save, Python's pickle). */
    private static final java.util.List<String> PICKLE_SUFFIXES = java.util.List.of(".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt");

    /** Whether a file name is of a pickle-based format: such files run code when loaded and are never opened. */
    public static boolean isPickleName(String fileName) {
        String name = fileName.toLowerCase(java.util.Locale.ROOT);
        return PICKLE_SUFFIXES.stream().anyMatch(name::endsWith);
    }

    /** Pickle-based formats run code when loaded; we never open them. */
    static void refuseUnsafeFormats(Path file) {
        String name = file.getFileName() == null ? "" : file.getFileName().toString();
        if (isPickleName(name)) {
            throw new CheckpointException(file, null, "pickle format refused",
                    "pickle files can execute code when loaded; save the checkpoint with safetensors "
                            + "(save_pretrained(..., safe_serialization=True))");
        }
    }

    private static String decodeUtf8(Path file, byte[] bytes) {
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new CheckpointException(file, null, "header not UTF-8", e.getMessage());
        }
    }

    private static Map<String, TensorInfo> parseHeader(Path file, String json, long dataSize,
                                                       Map<String, String> metadataOut) {
        JsonNode root;
        try {
            root = JsonTree.read(json);   // strict: no duplicate key, nothing after the object, no comments or NaN
        } catch (IOException e) {
            String msg = e.getMessage() == null ? "" : e.getMessage().lines().findFirst().orElse("");
            String rule = msg.contains("Duplicate field") ? "duplicate key in header" : "header not valid JSON";
            throw new CheckpointException(file, null, rule, msg);
        }
        if (!(root instanceof ObjectNode obj)) {
            throw new CheckpointException(file, null, "header not a JSON object", null);
        }
        Map<String, TensorInfo> tensors = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = obj.properties().iterator(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String name = e.getKey();
            JsonNode entry = e.getValue();
            if ("__metadata__".equals(name)) {
                readMetadata(file, entry, metadataOut);
                continue;
            }
            tensors.put(name, parseEntry(file, name, entry, dataSize));
        }
        checkTiling(file, tensors, dataSize);
        return tensors;
    }

    private static void readMetadata(Path file, JsonNode entry, Map<String, String> out) {
        if (!entry.isObject()) {
            throw new CheckpointException(file, "__metadata__", "metadata not a string map", "not an object");
        }
        for (Map.Entry<String, JsonNode> m : entry.properties()) {
            if (!m.getValue().isTextual()) {
                throw new CheckpointException(file, "__metadata__", "metadata not a string map",
                        "value of '" + m.getKey() + "' is not a string");
            }
            out.put(m.getKey(), m.getValue().textValue());
        }
    }

    private static TensorInfo parseEntry(Path file, String name, JsonNode entry, long dataSize) {
        if (!entry.isObject()) {
            throw new CheckpointException(file, name, "tensor entry not an object", null);
        }
        JsonNode dtypeNode = entry.get("dtype");
        if (dtypeNode == null || !dtypeNode.isTextual()) {
            throw new CheckpointException(file, name, "missing dtype", null);
        }
        DType dtype = DType.parse(dtypeNode.textValue()).orElseThrow(() ->
                new CheckpointException(file, name, "unknown dtype", "'" + dtypeNode.textValue() + "'"));
        JsonNode shapeNode = entry.get("shape");
        if (shapeNode == null || !shapeNode.isArray()) {
            throw new CheckpointException(file, name, "missing shape", null);
        }
        long[] shape = new long[shapeNode.size()];
        for (int i = 0; i < shape.length; i++) {
            JsonNode d = shapeNode.get(i);
            if (!d.isIntegralNumber() || !d.canConvertToLong() || d.longValue() < 0) {
                throw new CheckpointException(file, name, "invalid shape", "dimension " + i + " is " + d);
            }
            shape[i] = d.longValue();
        }
        JsonNode off = entry.get("data_offsets");
        if (off == null || !off.isArray() || off.size() != 2
                || !off.get(0).isIntegralNumber() || !off.get(1).isIntegralNumber()
                || !off.get(0).canConvertToLong() || !off.get(1).canConvertToLong()) {
            throw new CheckpointException(file, name, "invalid data_offsets", "need [begin, end] integers");
        }
        long begin = off.get(0).longValue();
        long end = off.get(1).longValue();
        if (begin < 0 || end < begin) {
            throw new CheckpointException(file, name, "invalid data_offsets", "[" + begin + ", " + end + "]");
        }
        TensorInfo info = new TensorInfo(file, name, dtype, shape, begin, end);
        long expected;
        try {
            expected = Math.multiplyExact(info.elementCount(), dtype.bytes());
        } catch (ArithmeticException ex) {
            throw new CheckpointException(file, name, "invalid shape", "element count overflows");
        }
        if (expected != end - begin) {
            throw new CheckpointException(file, name, "shape x dtype size != offset span",
                    dtype + java.util.Arrays.toString(shape) + " needs " + expected + " bytes, data_offsets span "
                            + (end - begin));
        }
        return info;
    }

    /**
     * The entries must tile the data buffer exactly: sorted by begin, each starts where the last
     * ended, and the last ends at the end of the file. A consistent tiling that runs past the end
     * is a truncated file; an entry past the end of an inconsistent one is out of the file.
     */
    private static void checkTiling(Path file, Map<String, TensorInfo> tensors, long dataSize) {
        List<TensorInfo> byBegin = new ArrayList<>(tensors.values());
        byBegin.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
        long cursor = 0;
        CheckpointException tilingError = null;
        for (TensorInfo t : byBegin) {
            if (t.begin() < cursor) {
                tilingError = new CheckpointException(file, t.name(), "offsets overlap",
                        "starts at " + t.begin() + " inside the previous tensor ending at " + cursor);
            } else if (t.begin() > cursor) {
                tilingError = new CheckpointException(file, t.name(), "hole in data buffer",
                        "bytes " + cursor + ".." + t.begin() + " belong to no tensor");
            }
            if (tilingError != null) break;
            cursor = t.end();
        }
        if (tilingError == null && cursor > dataSize) {
            throw new CheckpointException(file, null, "truncated file",
                    "the header describes " + cursor + " bytes of data, the file holds " + dataSize);
        }
        for (TensorInfo t : byBegin) {
            if (t.end() > dataSize) {
                throw new CheckpointException(file, t.name(), "offsets outside file",
                        "data_offsets [" + t.begin() + ", " + t.end() + "] beyond the " + dataSize + "-byte data buffer");
            }
        }
        if (tilingError != null) throw tilingError;
        if (cursor != dataSize) {
            throw new CheckpointException(file, null, "hole in data buffer",
                    "tensors cover " + cursor + " bytes, the data buffer has " + dataSize);
        }
    }

    @Override
    public Path location() { return file; }

    @Override
    public Set<String> names() { return tensors.keySet(); }

    @Override
    public TensorInfo info(String name) {
        TensorInfo t = tensors.get(name);
        if (t == null) throw new CheckpointException(file, name, "tensor missing", null);
        return t;
    }

    @Override
    public Map<String, String> metadata() { return metadata; }

    @Override
    public double[] readDoubles(String name) {
        TensorInfo t = info(name);
        if (!t.dtype().floating()) {
            if (t.dtype() == DType.F8_E4M3 || t.dtype() == DType.F8_E5M2 || t.dtype() == DType.BOOL) {
                throw new CheckpointException(file, name, "dtype not readable as numbers", t.dtype().toString());
            }
        }
        long n = t.elementCount();
        if (n > Integer.MAX_VALUE - 8) {
            throw new CheckpointException(file, name, "tensor too large", n + " elements do not fit one array");
        }
        double[] out = new double[(int) n];
        if (n == 0) return out;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = channel.map(FileChannel.MapMode.READ_ONLY, dataStart + t.begin(), t.byteLength(), arena);
            decode(t.dtype(), seg, out);
        } catch (IOException e) {
            throw new CheckpointException(file, name, "unreadable file", e.getMessage(), e);
        }
        for (int i = 0; i < out.length; i++) {
            if (!Double.isFinite(out[i])) {
                throw new CheckpointException(file, name, "non-finite value",
                        out[i] + " at flat index " + i);
            }
        }
        return out;
    }

    @Override
    public float[] readFloats(String name) {
        TensorInfo t = info(name);
        if (t.elementCount() > Integer.MAX_VALUE - 8) {
            throw new CheckpointException(file, name, "tensor too large", t.elementCount() + " elements do not fit one array");
        }
        float[] out = new float[(int) t.elementCount()];
        readFloatSpan(t, 0, out, 0, out.length);
        return out;
    }

    @Override
    public void readFloatsInto(String name, float[] into) {
        TensorInfo t = info(name);
        if (t.elementCount() != into.length) throw new IllegalArgumentException(name + " has " + t.elementCount() + " values, the array " + into.length);
        readFloatSpan(t, 0, into, 0, into.length);
    }

    @Override
    public float[] readRowsFloat(String name, int[] rows) {
        TensorInfo t = info(name);
        int width = TensorSource.rowWidth(t, rows);
        float[] out = new float[Math.multiplyExact(rows.length, width)];
        for (int i = 0; i < rows.length; i++) readFloatSpan(t, (long) rows[i] * width, out, i * width, width);
        return out;
    }

    /** Values from which a float32 read is decoded in chunks of this many on every core. */
    private static final int PARALLEL_DECODE = 1 << 20;

    /** Elements [first, first + count) of a tensor decoded into float32 at {@code out[at..]}; non-finite values refused. */
    private void readFloatSpan(TensorInfo t, long first, float[] out, int at, int count) {
        String name = t.name();
        if (!t.dtype().floating() && (t.dtype() == DType.F8_E4M3 || t.dtype() == DType.F8_E5M2 || t.dtype() == DType.BOOL)) {
            throw new CheckpointException(file, name, "dtype not readable as numbers", t.dtype().toString());
        }
        if (count == 0) return;
        int width = t.dtype().bytes();
        boolean large = count >= PARALLEL_DECODE;
        try (Arena arena = large ? Arena.ofShared() : Arena.ofConfined()) {
            MemorySegment seg = channel.map(FileChannel.MapMode.READ_ONLY, dataStart + t.begin() + first * width, (long) count * width, arena);
            if (!large) {
                decodeFloats(t.dtype(), seg, out, at, count);
            } else {
                // a decoder layer's weights are tens of millions of values: decoded on every core
                int chunks = (count + PARALLEL_DECODE - 1) / PARALLEL_DECODE;
                java.util.stream.IntStream.range(0, chunks).parallel().forEach(c -> {
                    int from = c * PARALLEL_DECODE, n = Math.min(PARALLEL_DECODE, count - from);
                    decodeFloats(t.dtype(), seg.asSlice((long) from * width, (long) n * width), out, at + from, n);
                });
            }
        } catch (IOException e) {
            throw new CheckpointException(file, name, "unreadable file", e.getMessage(), e);
        }
        for (int i = at; i < at + count; i++) {
            if (!Float.isFinite(out[i])) {
                throw new CheckpointException(file, name, "non-finite value", out[i] + " at flat index " + (first + i - at));
            }
        }
    }

    /**
     * Streams a tensor's values through a finiteness check without materialising it (bounded
     * memory for tensors of any size); a CheckpointException names the tensor and the index.
     */
    @Override
    public void requireFinite(String name) {
        TensorInfo t = info(name);
        if (!t.dtype().floating() || t.byteLength() == 0) return;
        int width = t.dtype().bytes();
        long n = t.elementCount();
        double[] chunk = new double[(int) Math.min(n, FINITE_CHECK_CHUNK)];
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = channel.map(FileChannel.MapMode.READ_ONLY, dataStart + t.begin(), t.byteLength(), arena);
            for (long start = 0; start < n; start += chunk.length) {
                int count = (int) Math.min(chunk.length, n - start);
                double[] values = count == chunk.length ? chunk : new double[count];
                decode(t.dtype(), seg.asSlice(start * width, (long) count * width), values);
                for (int i = 0; i < count; i++) {
                    if (!Double.isFinite(values[i])) {
                        throw new CheckpointException(file, name, "non-finite value", values[i] + " at flat index " + (start + i));
                    }
                }
            }
        } catch (IOException e) {
            throw new CheckpointException(file, name, "unreadable file", e.getMessage(), e);
        }
    }

    /** Elements decoded at a time by {@link #requireFinite}: bounded memory whatever the tensor's size. */
    private static final int FINITE_CHECK_CHUNK = 1 << 16;

    /**
     * Writes the tensor as a standalone one-tensor safetensors file to {@code out}, copying its
     * bytes unchanged in bounded chunks (no decode, no whole-tensor buffer).
     */
    @Override
    public void writeStandalone(String name, java.io.OutputStream out) throws IOException {
        TensorInfo t = info(name);
        SafetensorsHeader.write(out, List.of(new SafetensorsHeader.Entry(name, t.dtype(), t.shape(), t.byteLength())), Map.of());
        byte[] buf = new byte[1 << 20];
        long pos = dataStart + t.begin();
        long end = dataStart + t.end();
        while (pos < end) {
            ByteBuffer bb = ByteBuffer.wrap(buf, 0, (int) Math.min(buf.length, end - pos));
            int r = channel.read(bb, pos);
            if (r < 0) throw new IOException("unexpected end of file in " + name);
            out.write(buf, 0, r);
            pos += r;
        }
    }

    private static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** Exact decode into double: every F32/F16/BF16 value is representable in double. */
    static void decode(DType dtype, MemorySegment seg, double[] out) {
        int n = out.length;
        switch (dtype) {
            case F64 -> MemorySegment.copy(seg, F64, 0, out, 0, n);
            case F32 -> widenFloats(seg, out);
            case F16 -> { for (int i = 0; i < n; i++) out[i] = Float.float16ToFloat(seg.get(I16, 2L * i)); }
            // bfloat16 is the upper half of an IEEE float32.
            case BF16 -> { for (int i = 0; i < n; i++) out[i] = Float.intBitsToFloat((seg.get(I16, 2L * i) & 0xFFFF) << 16); }
            case I64 -> { for (int i = 0; i < n; i++) out[i] = seg.get(I64, 8L * i); }
            case I32 -> { for (int i = 0; i < n; i++) out[i] = seg.get(I32, 4L * i); }
            case I16 -> { for (int i = 0; i < n; i++) out[i] = seg.get(I16, 2L * i); }
            case I8 -> { for (int i = 0; i < n; i++) out[i] = seg.get(ValueLayout.JAVA_BYTE, i); }
            case U64 -> { for (int i = 0; i < n; i++) out[i] = unsignedToDouble(seg.get(I64, 8L * i)); }
            case U32 -> { for (int i = 0; i < n; i++) out[i] = seg.get(I32, 4L * i) & 0xFFFFFFFFL; }
            case U16 -> { for (int i = 0; i < n; i++) out[i] = seg.get(I16, 2L * i) & 0xFFFF; }
            case U8 -> { for (int i = 0; i < n; i++) out[i] = seg.get(ValueLayout.JAVA_BYTE, i) & 0xFF; }
            default -> throw new IllegalArgumentException("no decoder for " + dtype);
        }
    }

    /** Floats copied from the file in blocks of this many, then widened: a bulk copy, not one access per value. */
    private static final int WIDEN_BLOCK = 1 << 14;

    /**
     * Float32 values widened to double. The bulk copy and a plain array loop cost a fraction of a
     * memory access per value, which a one-matrix command, run on C1 alone, would otherwise pay.
     */
    private static void widenFloats(MemorySegment seg, double[] out) {
        float[] block = new float[Math.min(WIDEN_BLOCK, out.length)];
        for (int from = 0; from < out.length; from += block.length) {
            int n = Math.min(block.length, out.length - from);
            MemorySegment.copy(seg, F32, 4L * from, block, 0, n);
            for (int i = 0; i < n; i++) out[from + i] = block[i];
        }
    }

    /** Decode {@code n} values into float32 at {@code out[at..]}: exact for F32/F16/BF16 (and integers up to 2^24), F64 rounded to nearest. */
    static void decodeFloats(DType dtype, MemorySegment seg, float[] out, int at, int n) {
        switch (dtype) {
            case F32 -> MemorySegment.copy(seg, F32, 0, out, at, n);
            case F16 -> { for (int i = 0; i < n; i++) out[at + i] = Float.float16ToFloat(seg.get(I16, 2L * i)); }
            case BF16 -> { for (int i = 0; i < n; i++) out[at + i] = Float.intBitsToFloat((seg.get(I16, 2L * i) & 0xFFFF) << 16); }
            default -> {
                double[] d = new double[n];
                decode(dtype, seg, d);
                for (int i = 0; i < n; i++) out[at + i] = (float) d[i];
            }
        }
    }

    private static double unsignedToDouble(long v) {
        return v >= 0 ? v : ((v >>> 1) | (v & 1)) * 2.0;
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long pos) throws IOException {
        while (buf.hasRemaining()) {
            int r = ch.read(buf, pos + buf.position());
            if (r < 0) throw new IOException("unexpected end of file");
        }
    }

    private static void closeQuietly(FileChannel ch) {
        try {
            ch.close();
        } catch (IOException ignored) {
            // nothing useful to report: the open failed already
        }
    }

    @Override
    public void close() {
        closeQuietly(channel);
    }

    /** True when the path looks like a safetensors file by name. */
    public static boolean isSafetensors(Path p) {
        return p.getFileName() != null && p.getFileName().toString().endsWith(".safetensors") && Files.isRegularFile(p);
    }
}
