package dev.entangle.core.safetensors;

import dev.entangle.core.CheckpointException;
import dev.entangle.core.testing.RawSafetensors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Stream;

import static dev.entangle.core.testing.RawSafetensors.f32;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SafetensorsFileTest {

    @TempDir
    Path dir;

    @Test
    void roundTripsEveryFloatDtype() throws IOException {
        double[] v = {1.0, -2.5, 0.333251953125, 65504, 0};
        Path f = dir.resolve("m.safetensors");
        new SafetensorsWriter()
                .add("a", DType.F64, new long[]{5}, v)
                .add("b", DType.F32, new long[]{1, 5}, v)
                .add("c", DType.F16, new long[]{5, 1}, v)
                .add("d", DType.BF16, new long[]{5}, new double[]{1.0, -2.5, 3.140625, -0.0078125, 0})
                .metadata("format", "pt")
                .write(f);
        try (SafetensorsFile s = SafetensorsFile.open(f)) {
            assertEquals(Map.of("format", "pt"), s.metadata());
            assertArrayEquals(v, s.readDoubles("a"));
            assertArrayEquals(v, s.readDoubles("b"));
            assertArrayEquals(v, s.readDoubles("c"));
            assertArrayEquals(new double[]{1.0, -2.5, 3.140625, -0.0078125, 0}, s.readDoubles("d"));
            assertArrayEquals(new long[]{5, 1}, s.info("c").shape());
        }
    }

    /** Float32 is widened in blocks: a tensor longer than one block, and not a whole number of them, reads value for value. */
    @Test
    void float32ReadsExactlyAcrossWideningBlocks() throws IOException {
        int n = 3 * (1 << 14) + 17;
        double[] v = new double[n];
        java.util.Random rng = new java.util.Random(7);
        for (int i = 0; i < n; i++) v[i] = (float) (rng.nextGaussian() * Math.pow(10, rng.nextInt(20) - 10));
        Path f = dir.resolve("long.safetensors");
        new SafetensorsWriter().add("w", DType.F32, new long[]{n}, v).add("x", DType.F64, new long[]{n}, v).write(f);
        try (SafetensorsFile s = SafetensorsFile.open(f)) {
            assertArrayEquals(v, s.readDoubles("w"));
            assertArrayEquals(v, s.readDoubles("x"));
        }
    }

    /** Every finite bf16 and f16 bit pattern decodes to the value its fields define. */
    @Test
    void halfPrecisionDecodeIsExact() throws IOException {
        double[] bf = new double[65536];
        double[] hf = new double[65536];
        ByteBuffer bb = ByteBuffer.allocate(2 * 65536).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < 65536; i++) bb.putShort((short) i);
        byte[] bits = bb.array();
        byte[] both = new byte[bits.length * 2];
        System.arraycopy(bits, 0, both, 0, bits.length);
        System.arraycopy(bits, 0, both, bits.length, bits.length);
        Path f = RawSafetensors.write(dir.resolve("h.safetensors"),
                "{\"bf\":{\"dtype\":\"BF16\",\"shape\":[65536],\"data_offsets\":[0,131072]},"
                        + "\"hf\":{\"dtype\":\"F16\",\"shape\":[65536],\"data_offsets\":[131072,262144]}}", both);
        try (SafetensorsFile s = SafetensorsFile.open(f);
             var arena = java.lang.foreign.Arena.ofConfined()) {
            // readDoubles refuses Inf/NaN patterns, so decode the raw span directly.
            var seg = arena.allocate(bits.length);
            seg.copyFrom(java.lang.foreign.MemorySegment.ofArray(bits));
            SafetensorsFile.decode(DType.BF16, seg, bf);
            SafetensorsFile.decode(DType.F16, seg, hf);
            assertTrue(s.contains("bf"));
        }
        for (int i = 0; i < 65536; i++) {
            int sign = (i >>> 15) == 1 ? -1 : 1;
            int bfExp = (i >>> 7) & 0xFF, bfMan = i & 0x7F;
            if (bfExp != 0xFF) {
                double want = bfExp == 0 ? sign * Math.scalb((double) bfMan, -126 - 7)
                        : sign * Math.scalb(1 + bfMan / 128.0, bfExp - 127);
                assertEquals(want, bf[i], 0.0, "bf16 0x" + Integer.toHexString(i));
            }
            int hExp = (i >>> 10) & 0x1F, hMan = i & 0x3FF;
            if (hExp != 0x1F) {
                double want = hExp == 0 ? sign * Math.scalb((double) hMan, -14 - 10)
                        : sign * Math.scalb(1 + hMan / 1024.0, hExp - 15);
                assertEquals(want, hf[i], 0.0, "f16 0x" + Integer.toHexString(i));
            }
        }
    }

    @Test
    void readsFixtureWithoutLoadingOtherTensors() {
        Path base = dev.entangle.core.testing.Fixtures.base().resolve("model.safetensors");
        try (SafetensorsFile s = SafetensorsFile.open(base)) {
            TensorInfo q = s.info("model.layers.0.self_attn.q_proj.weight");
            assertArrayEquals(new long[]{256, 256}, q.shape());
            assertEquals(256 * 256, s.readDoubles(q.name()).length);
        }
    }

    static Stream<Arguments> badFiles() {
        String ok = "{\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
        return Stream.of(
                Arguments.of("unknown dtype", "{\"t\":{\"dtype\":\"F33\",\"shape\":[2],\"data_offsets\":[0,8]}}", f32(1, 2)),
                Arguments.of("shape x dtype size != offset span", "{\"t\":{\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[0,8]}}", f32(1, 2)),
                Arguments.of("offsets overlap", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                        + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", f32(1, 2, 3)),
                Arguments.of("truncated file", "{\"t\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", f32(1, 2)),
                Arguments.of("offsets outside file", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                        + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[64,72]}}", f32(1, 2)),
                Arguments.of("hole in data buffer", "{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", f32(1, 2)),
                Arguments.of("hole in data buffer", ok, f32(1, 2, 3)),
                Arguments.of("duplicate key in header", "{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                        + "\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", f32(1, 2)),
                Arguments.of("header not a JSON object", "[1,2,3]", f32(1)),
                Arguments.of("header not valid JSON", "{\"t\": nope}", f32(1)),
                Arguments.of("invalid shape", "{\"t\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", f32(1, 2)),
                Arguments.of("invalid data_offsets", "{\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", f32(1, 2)),
                Arguments.of("missing dtype", "{\"t\":{\"shape\":[2],\"data_offsets\":[0,8]}}", f32(1, 2)),
                Arguments.of("metadata not a string map", "{\"__metadata__\":{\"a\":1}," + ok.substring(1), f32(1, 2)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badFiles")
    void refusesBadHeaders(String rule, String header, byte[] data) throws IOException {
        Path f = RawSafetensors.write(dir.resolve("bad.safetensors"), header, data);
        CheckpointException e = assertThrows(CheckpointException.class, () -> SafetensorsFile.open(f));
        assertEquals(rule, e.rule(), e.getMessage());
        assertTrue(e.getMessage().startsWith(f.toString()), e.getMessage());
    }

    @Test
    void refusesTruncatedAndOversizedHeaders() throws IOException {
        Path tiny = Files.write(dir.resolve("tiny.safetensors"), new byte[]{1, 2, 3});
        assertEquals("truncated file", assertThrows(CheckpointException.class, () -> SafetensorsFile.open(tiny)).rule());

        byte[] h = "{}".getBytes(StandardCharsets.UTF_8);
        Path beyond = RawSafetensors.write(dir.resolve("beyond.safetensors"), 4096, h, new byte[0]);
        assertEquals("header length beyond end of file",
                assertThrows(CheckpointException.class, () -> SafetensorsFile.open(beyond)).rule());

        Path huge = RawSafetensors.write(dir.resolve("huge.safetensors"), 200_000_000L, h, new byte[0]);
        assertEquals("header too large", assertThrows(CheckpointException.class, () -> SafetensorsFile.open(huge)).rule());

        // A real file cut short: its tensors no longer fit.
        Path base = dev.entangle.core.testing.Fixtures.base().resolve("model.safetensors");
        byte[] all = Files.readAllBytes(base);
        Path cut = Files.write(dir.resolve("cut.safetensors"), java.util.Arrays.copyOf(all, all.length - 100));
        CheckpointException e = assertThrows(CheckpointException.class, () -> SafetensorsFile.open(cut));
        assertEquals("truncated file", e.rule());
    }

    @Test
    void refusesNonFiniteValuesNamingTheTensor() throws IOException {
        Path f = RawSafetensors.write(dir.resolve("nan.safetensors"),
                "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", f32(1, Float.NaN));
        try (SafetensorsFile s = SafetensorsFile.open(f)) {
            CheckpointException e = assertThrows(CheckpointException.class, () -> s.readDoubles("w"));
            assertEquals("non-finite value", e.rule());
            assertEquals("w", e.tensor());
        }
    }

    @Test
    void refusesPickle() throws IOException {
        Path f = Files.write(dir.resolve("pytorch_model.bin"), new byte[64]);
        assertEquals("pickle format refused", assertThrows(CheckpointException.class, () -> SafetensorsFile.open(f)).rule());
    }

    @Test
    void readsShardedCheckpointsThroughTheIndex() throws IOException {
        new SafetensorsWriter().add("a", DType.F32, new long[]{2}, new double[]{1, 2}).write(dir.resolve("model-00001-of-00002.safetensors"));
        new SafetensorsWriter().add("b", DType.BF16, new long[]{1, 2}, new double[]{3, 4}).write(dir.resolve("model-00002-of-00002.safetensors"));
        Path index = Files.writeString(dir.resolve("model.safetensors.index.json"),
                "{\"metadata\":{\"total_size\":12},\"weight_map\":{\"a\":\"model-00001-of-00002.safetensors\",\"b\":\"model-00002-of-00002.safetensors\"}}");
        try (ShardedSafetensors s = ShardedSafetensors.open(index)) {
            assertArrayEquals(new double[]{1, 2}, s.readDoubles("a"));
            assertArrayEquals(new double[]{3, 4}, s.readDoubles("b"));
        }
        Files.writeString(index, "{\"weight_map\":{\"a\":\"../evil.safetensors\"}}");
        assertEquals("unsafe shard path", assertThrows(CheckpointException.class, () -> ShardedSafetensors.open(index)).rule());
        Files.writeString(index, "{\"weight_map\":{\"zz\":\"model-00001-of-00002.safetensors\"}}");
        assertEquals("tensor missing from its shard", assertThrows(CheckpointException.class, () -> ShardedSafetensors.open(index)).rule());
    }
}
