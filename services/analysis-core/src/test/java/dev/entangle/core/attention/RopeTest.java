package dev.entangle.core.attention;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.entangle.core.CheckpointException;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every rope type's inverse frequencies against transformers' modeling_rope_utils formulas,
 * written out here in double (float32 rounding is all that separates them), the parameters read
 * from both config layouts, and the refusals.
 */
class RopeTest {

    static final Path CONFIG = Path.of("config.json");
    static final JsonMapper JSON = JsonMapper.builder().build();

    static JsonNode json(String s) throws Exception { return JSON.readTree(s); }

    /** 1 / θ^(2i/d). */
    static double standard(double theta, int i, int d) { return 1 / Math.pow(theta, 2.0 * i / d); }

    static void close(double expected, float actual, String where) {
        assertEquals(expected, actual, 2e-7 * Math.abs(expected), where);
    }

    @Test
    void defaultFrequencies() {
        float[] f = Rope.inverseFrequencies(64, Rope.Scaling.standard(10000), 256);
        assertEquals(32, f.length);
        for (int i = 0; i < 32; i++) close(standard(10000, i, 64), f[i], "i=" + i);
        assertEquals(1f, f[0]);
    }

    @Test
    void linearDividesByFactor() throws Exception {
        Rope.Scaling s = Rope.Scaling.fromConfig(CONFIG, json("""
                {"max_position_embeddings": 4096, "rope_parameters": {"rope_type": "linear", "factor": 4.0, "rope_theta": 10000.0}}"""));
        float[] f = Rope.inverseFrequencies(128, s, 100);
        for (int i = 0; i < 64; i++) close(standard(10000, i, 128) / 4, f[i], "i=" + i);
    }

    @Test
    void dynamicNtkGrowsTheBaseOnlyBeyondTheContext() throws Exception {
        // transformers 4's layout: rope_scaling with "type", rope_theta beside it
        Rope.Scaling s = Rope.Scaling.fromConfig(CONFIG, json("""
                {"max_position_embeddings": 2048, "rope_theta": 10000.0, "rope_scaling": {"type": "dynamic", "factor": 2.0}}"""));
        assertEquals("dynamic", s.type());
        assertEquals(2048, s.maxPositions());
        float[] within = Rope.inverseFrequencies(64, s, 2048);
        for (int i = 0; i < 32; i++) close(standard(10000, i, 64), within[i], "within the context, i=" + i);
        // L = 4096 > L_max: θ' = θ · (factor · L / L_max − (factor − 1))^(d / (d − 2)) = θ · 3^(64/62)
        double grown = 10000 * Math.pow(2.0 * 4096 / 2048 - 1, 64.0 / 62);
        float[] beyond = Rope.inverseFrequencies(64, s, 4096);
        for (int i = 0; i < 32; i++) assertEquals(standard(grown, i, 64), beyond[i], 1e-6 * standard(grown, i, 64), "beyond, i=" + i);
    }

    /** Llama 3.1 / 3.2's published parameters (θ 500000, factor 32, low 1, high 4, original context 8192), head_dim 64. */
    @Test
    void llama3BandsAsTransformersComputesThem() throws Exception {
        Rope.Scaling s = Rope.Scaling.fromConfig(CONFIG, json("""
                {"max_position_embeddings": 131072, "rope_theta": 500000.0,
                 "rope_scaling": {"factor": 32.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                                  "original_max_position_embeddings": 8192, "rope_type": "llama3"}}"""));
        float[] f = Rope.inverseFrequencies(64, s, 1024);
        int kept = 0, divided = 0, smoothed = 0;
        for (int i = 0; i < 32; i++) {
            double inv = standard(500000, i, 64);
            double wavelen = 2 * Math.PI / inv;
            double expected;
            if (wavelen < 8192 / 4.0) {
                expected = inv;
                kept++;
            } else if (wavelen > 8192 / 1.0) {
                expected = inv / 32;
                divided++;
            } else {
                double smooth = (8192 / wavelen - 1) / (4 - 1);
                expected = (1 - smooth) * inv / 32 + smooth * inv;
                smoothed++;
            }
            assertEquals(expected, f[i], 1e-6 * expected, "i=" + i + " (wavelength " + wavelen + ")");
        }
        assertTrue(kept > 0 && divided > 0 && smoothed > 0, kept + " kept, " + smoothed + " smoothed, " + divided + " divided");
        assertEquals(1f, f[0], "the highest frequency is untouched");
        close(standard(500000, 31, 64) / 32, f[31], "the lowest frequency is divided by the factor");
    }

    @Test
    void transformers5ParametersWinOverTopLevelTheta() throws Exception {
        Rope.Scaling s = Rope.Scaling.fromConfig(CONFIG, json("""
                {"rope_theta": 1.0, "rope_parameters": {"rope_type": "default", "rope_theta": 500000.0}}"""));
        assertEquals(500000, s.theta());
        assertEquals(Rope.Scaling.standard(10000), Rope.Scaling.fromConfig(CONFIG, json("{}")), "LlamaConfig's default θ");
        Rope.Scaling round = Rope.Scaling.fromConfig(CONFIG, Rope.Scaling.fromConfig(CONFIG, json("""
                {"max_position_embeddings": 64, "rope_parameters": {"rope_type": "llama3", "rope_theta": 5e5, "factor": 8.0,
                 "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 32}}""")).toConfig());
        assertEquals(new Rope.Scaling("llama3", 5e5, 8, 1, 4, 32, 0), round, "toConfig reads back");
    }

    @Test
    void refusesWhatItCannotReproduce() {
        CheckpointException yarn = assertThrows(CheckpointException.class, () -> Rope.Scaling.fromConfig(CONFIG, json("""
                {"rope_parameters": {"rope_type": "yarn", "factor": 4.0, "rope_theta": 10000.0}}""")));
        assertEquals("unsupported rope_type", yarn.rule());
        assertTrue(yarn.getMessage().contains("config.json") && yarn.getMessage().contains("'yarn'"), yarn.getMessage());
        CheckpointException noFactor = assertThrows(CheckpointException.class, () -> Rope.Scaling.fromConfig(CONFIG, json("""
                {"rope_scaling": {"rope_type": "linear"}}""")));
        assertEquals("rope parameter missing", noFactor.rule());
        assertTrue(noFactor.getMessage().contains("rope_scaling has no factor"), noFactor.getMessage());
        CheckpointException llama3 = assertThrows(CheckpointException.class, () -> Rope.Scaling.fromConfig(CONFIG, json("""
                {"rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0}}""")));
        assertTrue(llama3.getMessage().contains("original_max_position_embeddings"), llama3.getMessage());
        assertEquals("unsupported rope parameter", assertThrows(CheckpointException.class, () -> Rope.Scaling.fromConfig(CONFIG, json("""
                {"partial_rotary_factor": 0.5}"""))).rule());
    }

    @Test
    void floatRotationIsTheDoubleOneRounded() {
        Rope rope = new Rope(8, Rope.Scaling.standard(10000), Rope.positions(5));
        java.util.Random r = new java.util.Random(1);
        float[] x = new float[5 * 2 * 8];
        double[] xd = new double[x.length];
        for (int i = 0; i < x.length; i++) xd[i] = x[i] = (float) r.nextGaussian();
        float[] y = x.clone();
        rope.rotate(y, 2);
        for (int h = 0; h < 2; h++) {
            double[] ref = rope.rotateHead(xd, 5, 2, h);
            for (int t = 0; t < 5; t++) for (int c = 0; c < 8; c++) assertEquals(ref[t * 8 + c], y[t * 16 + h * 8 + c], 1e-6);
        }
    }
}
