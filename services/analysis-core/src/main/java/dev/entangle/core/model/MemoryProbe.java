package dev.entangle.core.model;

import dev.entangle.core.attention.AttentionProbe;
import dev.entangle.core.safetensors.MemoryTensors;
import dev.entangle.core.safetensors.TensorSource;

import java.nio.file.Path;

/**
 * A forward pass's captures kept in memory, as a {@link TensorSource} laid out exactly like
 * {@code attention_probe.safetensors} (same names, shapes, dtypes and {@code __metadata__} keys),
 * so {@link AttentionProbe} and everything after it read it as they read the file, and
 * {@link MemoryTensors#write} writes it as one.
 */
public final class MemoryProbe implements ProbeSink {

    private final Path location;
    private MemoryTensors tensors;
    private AttentionProbe.Geometry geometry;

    /** {@code location} names the probe in error messages (e.g. the checkpoint folder + "forward"). */
    public MemoryProbe(Path location) {
        this.location = location;
    }

    @Override
    public void start(AttentionProbe.Geometry g, int[] inputIds, long[] positions) {
        geometry = g;
        tensors = new MemoryTensors(location, AttentionProbe.metadata(g));
        long[] ids = new long[inputIds.length];
        for (int i = 0; i < ids.length; i++) ids[i] = inputIds[i];
        tensors.putInts(AttentionProbe.INPUT_IDS, new long[]{1, ids.length}, ids);
        tensors.putInts(AttentionProbe.POSITION_IDS, new long[]{1, positions.length}, positions);
    }

    @Override
    public void layer(LayerCapture c) {
        int t = geometry.tokens();
        // copies: the forward pass refills its arrays for the next layer
        float[][] heads = new float[c.attnWeights().length][];
        for (int h = 0; h < heads.length; h++) heads[h] = c.attnWeights()[h].clone();
        tensors.putFloats(AttentionProbe.qRaw(c.layer()), new long[]{t, (long) geometry.heads() * geometry.headDim()}, c.qRaw().clone());
        tensors.putFloats(AttentionProbe.kRaw(c.layer()), new long[]{t, (long) geometry.kvHeads() * geometry.headDim()}, c.kRaw().clone());
        tensors.putFloats(AttentionProbe.attnWeights(c.layer()), new long[]{geometry.heads(), t, t}, heads);
        tensors.putFloats(AttentionProbe.attnOutput(c.layer()), new long[]{t, (long) geometry.heads() * geometry.headDim()}, c.attnOutput().clone());
    }

    /** The probe, once the forward pass has run. */
    public MemoryTensors tensors() {
        if (tensors == null) throw new IllegalStateException("no forward pass has run into this probe");
        return tensors;
    }
}
