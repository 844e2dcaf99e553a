package dev.entangle.core.safetensors;

import dev.entangle.core.CheckpointException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Tensors held in memory read, and write, as the safetensors file they stand for. */
class MemoryTensorsTest {

    @Test
    void servesAndWritesItsTensors(@TempDir Path tmp) throws Exception {
        MemoryTensors m = new MemoryTensors(tmp.resolve("probe"), Map.of("seq_len", "3"))
                .putInts("input_ids", new long[]{1, 3}, new long[]{7, 0, 255})
                .putFloats("x", new long[]{2, 3}, new float[]{1, 2, 3}, new float[]{4.5f, -5, 6});
        assertEquals(DType.I64, m.info("input_ids").dtype());
        assertArrayEquals(new double[]{7, 0, 255}, m.readDoubles("input_ids"));
        assertArrayEquals(new float[]{1, 2, 3, 4.5f, -5, 6}, m.readFloats("x"));
        assertArrayEquals(new float[]{4.5f, -5, 6, 1, 2, 3}, m.readRowsFloat("x", new int[]{1, 0}));
        Path one = tmp.resolve("x.safetensors");
        try (OutputStream out = Files.newOutputStream(one)) {
            m.writeStandalone("x", out);
        }
        try (SafetensorsFile f = SafetensorsFile.open(one)) {
            assertArrayEquals(m.readDoubles("x"), f.readDoubles("x"));
        }
        Path all = tmp.resolve("all.safetensors");
        m.write(all);
        try (SafetensorsFile f = SafetensorsFile.open(all)) {
            assertEquals(m.names(), f.names());
            assertEquals(Map.of("seq_len", "3"), f.metadata());
            assertArrayEquals(new double[]{7, 0, 255}, f.readDoubles("input_ids"));
            assertArrayEquals(new float[]{4.5f, -5, 6}, f.readRowsFloat("x", new int[]{1}));
        }
        CheckpointException e = assertThrows(CheckpointException.class, () -> m.info("y"));
        assertEquals("tensor missing", e.rule());
        m.putFloats("bad", new long[]{1}, new float[]{Float.NaN});
        assertEquals("non-finite value", assertThrows(CheckpointException.class, () -> m.readDoubles("bad")).rule());
    }
}
