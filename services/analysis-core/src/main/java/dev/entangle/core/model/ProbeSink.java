package dev.entangle.core.model;

import dev.entangle.core.attention.AttentionProbe;

/**
 * Where a forward pass puts what it captures, as the probe file lays it out
 * ({@link AttentionProbe}): first the sequence and the probe's metadata, then one decoder layer
 * at a time, so that a sink may keep everything (small models) or write each layer away
 * (a 1B model's 16 layers of [32, 1024, 1024] attention do not fit a small heap).
 */
public interface ProbeSink {

    /** The sequence ({@code input_ids}, {@code position_ids}) and the probe's {@code __metadata__}. */
    void start(AttentionProbe.Geometry geometry, int[] inputIds, long[] positions);

    /**
     * One layer's captures. The arrays are lent for the call only: the forward pass fills them
     * again for the next layer, so a sink that keeps them keeps copies.
     */
    void layer(LayerCapture capture);

    /**
     * What a forward pass captures of one decoder layer: q_raw [T, H·d] and k_raw [T, KV·d]
     * (the q_proj / k_proj outputs, before RoPE), every head's attention weights (one [T, T]
     * row-major array per head, causal softmax) and attn_output [T, H·d] (the heads' outputs
     * concatenated, o_proj's input).
     */
    record LayerCapture(int layer, float[] qRaw, float[] kRaw, float[][] attnWeights, float[] attnOutput) {}
}
