package dev.entangle.cli;

import org.junit.jupiter.api.Test;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The bench's kernel breakdown names every kernel of a dense profile and measures float32 against float64. */
class BenchCommandTest {

    @Test
    void kernelBreakdownCoversEveryCutWidth() {
        ProfileCommandTest.Run r = ProfileCommandTest.run("bench", "--shape", "16x32", "--numpy", "none", "--repeat", "1",
                "--engine", "openblas", "--kernels");
        assertEquals(0, r.code(), r.err());
        String out = r.out();
        // 16 × 32 = 2^9: cuts 1..8 with min(dL, dR) = 2, 4, 8, 16, 16, 8, 4, 2
        assertTrue(out.contains("Gram ρ_L at cut 4 (16 × 16, inner 32)"), out);
        assertTrue(out.contains("Gram ρ_R at cut 5 (16 × 16, inner 32)"), out);
        for (String w : new String[]{"   16 wide ×  2 cuts", "    8 wide ×  2 cuts", "    4 wide ×  2 cuts", "    2 wide ×  2 cuts"}) {
            assertTrue(out.contains("eigen-solve " + w), w + " missing in\n" + out);
        }
        Matcher m = Pattern.compile("bench matrix: [0-9.]+ s, S ([0-9.]+) vs float64 ([0-9.]+), \\|ΔS\\| = ([0-9.e+-]+)").matcher(out);
        assertTrue(m.find(), out);
        double s32 = Double.parseDouble(m.group(1)), s64 = Double.parseDouble(m.group(2));
        assertTrue(s64 > 1 && s64 < Math.log(16), "balanced-cut entropy of a Gaussian 16 × 32: " + s64);
        assertEquals(s64, s32, 1e-5);
        assertTrue(out.contains("columns over 6 decades"), out);
    }
}
