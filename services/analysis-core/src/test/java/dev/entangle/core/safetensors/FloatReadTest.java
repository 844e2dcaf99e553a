package dev.entangle.core.safetensors;

import dev.entangle.core.CheckpointException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * float32 reads equal the exact double decode for every float dtype, through the parallel
 * decode of large tensors (a decoder layer's weights) and the one-chunk path, into a buffer and
 * by rows; a non-finite value is named by its flat index either way.
 */
class FloatReadTest {

    @Test
    void largeAndSmallTensorsDecodeExactly(@TempDir Path tmp) throws Exception {
        int rows = 1500, cols = 1024;   // 1.5M values: more than one parallel chunk
        SplittableRandom r = new SplittableRandom(4);
        double[] v = new double[rows * cols];
        for (int i = 0; i < v.length; i++) v[i] = r.nextGaussian();
        for (DType dt : new DType[]{DType.F32, DType.F16, DType.BF16, DType.F64}) {
            Path f = tmp.resolve(dt + ".safetensors");
            new SafetensorsWriter().add("big", dt, new long[]{rows, cols}, v).add("small", dt, new long[]{3, 2}, new double[]{1, -2, 3.5, 4, 5, 6}).write(f);
            try (SafetensorsFile s = SafetensorsFile.open(f)) {
                for (String name : new String[]{"big", "small"}) {
                    double[] exact = s.readDoubles(name);
                    float[] floats = s.readFloats(name);
                    float[] into = new float[floats.length];
                    s.readFloatsInto(name, into);
                    assertArrayEquals(floats, into, dt + " " + name);
                    for (int i = 0; i < exact.length; i++) assertEquals((float) exact[i], floats[i], dt + " " + name + " at " + i);
                }
                float[] picked = s.readRowsFloat("big", new int[]{1499, 0, 7});
                float[] all = s.readFloats("big");
                for (int c = 0; c < cols; c++) {
                    assertEquals(all[1499 * cols + c], picked[c]);
                    assertEquals(all[c], picked[cols + c]);
                    assertEquals(all[7 * cols + c], picked[2 * cols + c]);
                }
                assertThrows(IllegalArgumentException.class, () -> s.readFloatsInto("big", new float[3]));
            }
        }
        double[] bad = v.clone();
        bad[1_234_567] = Double.POSITIVE_INFINITY;
        Path f = tmp.resolve("bad.safetensors");
        new SafetensorsWriter().add("big", DType.F32, new long[]{rows, cols}, bad).write(f);
        try (SafetensorsFile s = SafetensorsFile.open(f)) {
            CheckpointException e = assertThrows(CheckpointException.class, () -> s.readFloats("big"));
            assertEquals("non-finite value", e.rule());
            assertEquals(true, e.getMessage().contains("flat index 1234567"), e.getMessage());
        }
    }
}
