package dev.entangle.core.model;

import dev.entangle.core.attention.AttentionProbe;
import dev.entangle.core.checkpoint.Checkpoint;
import dev.entangle.core.engine.Engines;
import dev.entangle.core.engine.LinearAlgebra;
import dev.entangle.core.safetensors.DType;
import dev.entangle.core.safetensors.MemoryTensors;
import dev.entangle.core.testing.TinyLlama;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The graph's features the fixtures do not exercise, each on a generated checkpoint against a
 * float64 reference written out from HF's modeling code ({@link ReferenceForward}): half-precision
 * weights, attention and MLP biases, shards, untied embeddings and embeddings saved only as
 * lm_head, Mistral, and every rope type with the probe's metadata carrying it to the rebuild.
 */
class ForwardModelTest {

    /** float32 against float64 over a few small layers: far below this. */
    static final double TOL = 2e-5;

    @TempDir
    Path tmp;

    final LinearAlgebra la = Engines.named("openblas");

    static int[] ids(int t, int vocab, long seed) {
        Random r = new Random(seed);
        int[] ids = new int[t];
        for (int i = 0; i < t; i++) ids[i] = r.nextInt(vocab);
        return ids;
    }

    private MemoryTensors forward(Path dir, int[] ids) {
        try (Checkpoint ckpt = Checkpoint.open(dir)) {
            MemoryProbe sink = new MemoryProbe(dir.resolve("forward"));
            LlamaForward.of(ckpt, null, la).run(new ProbeTokens(ids, dir.resolve("tokens.json"), null), sink);
            return sink.tensors();
        }
    }

    private void checkAgainstReference(TinyLlama m, ReferenceForward.RopeSpec rope, String name) throws Exception {
        Path dir = m.write(tmp.resolve(name));
        int[] ids = ids(24, m.vocab, 3);
        MemoryTensors ours = forward(dir, ids);
        String embeddings = m.embeddingsAsLmHead ? "lm_head.weight" : "model.embed_tokens.weight";
        List<ReferenceForward.Layer> ref = ReferenceForward.run(m.weights(), ids, m.hidden, m.layers, m.heads, m.kvHeads, m.headDim,
                m.intermediate, m.eps, rope, m.attentionBias, m.mlpBias, embeddings);
        for (int l = 0; l < m.layers; l++) {
            compare(ours.readDoubles(AttentionProbe.qRaw(l)), ref.get(l).qRaw(), name + " q_raw " + l);
            compare(ours.readDoubles(AttentionProbe.kRaw(l)), ref.get(l).kRaw(), name + " k_raw " + l);
            compare(ours.readDoubles(AttentionProbe.attnOutput(l)), ref.get(l).output(), name + " attn_output " + l);
            double[] a = ours.readDoubles(AttentionProbe.attnWeights(l));
            int t2 = ids.length * ids.length;
            for (int h = 0; h < m.heads; h++) {
                for (int i = 0; i < t2; i++) assertEquals(ref.get(l).attention()[h][i], a[h * t2 + i], TOL, name + " attention " + l + "/" + h);
            }
        }
        // the probe's metadata carries the rope to the rebuild: attention rebuilt from q_raw/k_raw is the captured one
        AttentionProbe probe = AttentionProbe.of(ours);
        assertEquals(rope.type(), probe.geometry().ropeType());
        for (int l = 0; l < m.layers; l++) {
            double[][] captured = probe.capturedAttention(l).orElseThrow();
            double[][] rebuilt = probe.rebuiltAttention(l, true);
            for (int h = 0; h < captured.length; h++) {
                for (int i = 0; i < captured[h].length; i++) assertEquals(captured[h][i], rebuilt[h][i], 1e-6, name + " rebuilt " + l + "/" + h);
            }
        }
    }

    private static void compare(double[] ours, double[] ref, String where) {
        assertEquals(ref.length, ours.length, where);
        double e = ForwardOracleTest.relativeMaxError(ours, ref);
        assertTrue(e <= TOL, where + ": relative max error " + e);
    }

    static ReferenceForward.RopeSpec standard() { return new ReferenceForward.RopeSpec("default", 10000, 0, 0, 0, 0, 0); }

    @Test
    void halfPrecisionWeightsDecodeExactly() throws Exception {
        for (DType dt : new DType[]{DType.BF16, DType.F16}) {
            TinyLlama m = new TinyLlama();
            m.dtype = dt;
            checkAgainstReference(m, standard(), dt.name());
        }
    }

    @Test
    void attentionAndMlpBiases() throws Exception {
        TinyLlama m = new TinyLlama();
        m.attentionBias = true;
        m.mlpBias = true;
        checkAgainstReference(m, standard(), "biases");
    }

    @Test
    void shardedCheckpointWithUntiedEmbeddings() throws Exception {
        TinyLlama m = new TinyLlama();
        m.shards = 3;
        m.tied = false;
        m.layers = 3;
        checkAgainstReference(m, standard(), "sharded");
    }

    @Test
    void tiedEmbeddingsSavedOnlyAsLmHead() throws Exception {
        TinyLlama m = new TinyLlama();
        m.embeddingsAsLmHead = true;
        checkAgainstReference(m, standard(), "lm_head");
    }

    @Test
    void mistralIsTheSameGraphWithoutBiases() throws Exception {
        TinyLlama m = new TinyLlama();
        m.modelType = "mistral";
        // Mistral's projections have no bias whatever the config says; its window covers the sequence
        m.config = c -> {
            c.remove("rope_parameters");
            c.put("rope_theta", 1e6).put("sliding_window", 4096).put("attention_bias", true);
        };
        checkAgainstReference(m, new ReferenceForward.RopeSpec("default", 1e6, 0, 0, 0, 0, 0), "mistral");
    }

    @Test
    void linearRope() throws Exception {
        TinyLlama m = new TinyLlama();
        m.headDim = 8;
        m.config = c -> c.putObject("rope_parameters").put("rope_type", "linear").put("rope_theta", 10000.0).put("factor", 4.0);
        checkAgainstReference(m, new ReferenceForward.RopeSpec("linear", 10000, 4, 0, 0, 0, 0), "linear");
    }

    @Test
    void dynamicRopeInTheOlderRopeScalingField() throws Exception {
        TinyLlama m = new TinyLlama();
        m.headDim = 8;
        // transformers 4's layout: rope_scaling with "type", rope_theta beside it
        m.config = c -> {
            c.remove("rope_parameters");
            c.put("rope_theta", 5000.0);
            c.putObject("rope_scaling").put("type", "dynamic").put("factor", 2.0);
        };
        checkAgainstReference(m, new ReferenceForward.RopeSpec("dynamic", 5000, 2, 0, 0, 0, m.maxPositions), "dynamic");
    }

    @Test
    void llama3Rope() throws Exception {
        TinyLlama m = new TinyLlama();
        m.headDim = 16;
        // an original context short enough that the 8 frequencies span all three llama3 bands
        m.config = c -> c.putObject("rope_parameters").put("rope_type", "llama3").put("rope_theta", 500000.0).put("factor", 8.0)
                .put("low_freq_factor", 1.0).put("high_freq_factor", 4.0).put("original_max_position_embeddings", 64);
        double[] inv = ReferenceForward.inverseFrequencies(new ReferenceForward.RopeSpec("default", 500000, 0, 0, 0, 0, 0), 16, 24);
        long low = java.util.Arrays.stream(inv).filter(f -> 2 * Math.PI / f > 64).count();
        long high = java.util.Arrays.stream(inv).filter(f -> 2 * Math.PI / f < 16).count();
        assertTrue(low > 0 && high > 0 && low + high < inv.length, "every band is used: " + low + " low, " + high + " high of " + inv.length);
        checkAgainstReference(m, new ReferenceForward.RopeSpec("llama3", 500000, 8, 1, 4, 64, 0), "llama3");
    }

    @Test
    void captureIsTheProbeFileLayout() throws Exception {
        TinyLlama m = new TinyLlama();
        Path dir = m.write(tmp.resolve("layout"));
        MemoryTensors ours = forward(dir, ids(12, m.vocab, 5));
        Map<String, String> md = ours.metadata();
        assertEquals(Map.of("seq_len", "12", "num_heads", "4", "num_kv_heads", "2", "head_dim", "4", "rope_type", "default",
                "rope_theta", "10000.0", "causal", "true"), md);
        assertEquals(DType.I64, ours.info(AttentionProbe.INPUT_IDS).dtype());
        assertEquals(List.of(1L, 12L), java.util.Arrays.stream(ours.info(AttentionProbe.POSITION_IDS).shape()).boxed().toList());
        assertEquals(List.of(4L, 12L, 12L), java.util.Arrays.stream(ours.info(AttentionProbe.attnWeights(1)).shape()).boxed().toList());
    }
}
