package dev.entangle.core.model;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A plain float64 Llama forward pass, written out from HF's modeling_llama and
 * modeling_rope_utils without any of the model package's code (its own RoPE frequencies, loops
 * for every product): the reference the generated checkpoints' features are checked against.
 */
final class ReferenceForward {

    record Layer(double[] qRaw, double[] kRaw, double[][] attention, double[] output) {}

    /** Rope parameters as the config gives them. */
    record RopeSpec(String type, double theta, double factor, double low, double high, double originalMax, int maxPositions) {}

    private ReferenceForward() {}

    /** inv_freq by modeling_rope_utils' formulas, in double. */
    static double[] inverseFrequencies(RopeSpec r, int d, int seqLen) {
        double theta = r.theta();
        if (r.type().equals("dynamic")) {
            double len = Math.max(seqLen, r.maxPositions());
            theta = theta * Math.pow(r.factor() * len / r.maxPositions() - (r.factor() - 1), d / (d - 2.0));
        }
        double[] inv = new double[d / 2];
        for (int i = 0; i < inv.length; i++) inv[i] = 1 / Math.pow(theta, 2.0 * i / d);
        if (r.type().equals("linear")) for (int i = 0; i < inv.length; i++) inv[i] /= r.factor();
        if (r.type().equals("llama3")) {
            double lowWavelen = r.originalMax() / r.low(), highWavelen = r.originalMax() / r.high();
            for (int i = 0; i < inv.length; i++) {
                double wavelen = 2 * Math.PI / inv[i];
                if (wavelen < highWavelen) continue;
                if (wavelen > lowWavelen) {
                    inv[i] /= r.factor();
                } else {
                    double s = (r.originalMax() / wavelen - r.low()) / (r.high() - r.low());
                    inv[i] = (1 - s) * inv[i] / r.factor() + s * inv[i];
                }
            }
        }
        return inv;
    }

    static List<Layer> run(Map<String, double[]> w, int[] ids, int hidden, int layers, int heads, int kvHeads, int d, int inter,
                           double eps, RopeSpec rope, boolean attentionBias, boolean mlpBias, String embeddings) {
        int t = ids.length, qw = heads * d, kvw = kvHeads * d, group = heads / kvHeads;
        double[] emb = w.get(embeddings);
        double[] h = new double[t * hidden];
        for (int i = 0; i < t; i++) System.arraycopy(emb, ids[i] * hidden, h, i * hidden, hidden);
        double[] inv = inverseFrequencies(rope, d, t);
        List<Layer> out = new ArrayList<>();
        for (int l = 0; l < layers; l++) {
            String p = "model.layers." + l + ".";
            double[] x = norm(h, w.get(p + "input_layernorm.weight"), t, hidden, eps);
            double[] q = linear(x, w.get(p + "self_attn.q_proj.weight"), attentionBias ? w.get(p + "self_attn.q_proj.bias") : null, t, hidden, qw);
            double[] k = linear(x, w.get(p + "self_attn.k_proj.weight"), attentionBias ? w.get(p + "self_attn.k_proj.bias") : null, t, hidden, kvw);
            double[] v = linear(x, w.get(p + "self_attn.v_proj.weight"), attentionBias ? w.get(p + "self_attn.v_proj.bias") : null, t, hidden, kvw);
            double[] qr = rotate(q, t, heads, d, inv), kr = rotate(k, t, kvHeads, d, inv);
            double[][] a = new double[heads][t * t];
            double[] o = new double[t * qw];
            for (int hd = 0; hd < heads; hd++) {
                int g = hd / group;
                for (int i = 0; i < t; i++) {
                    double max = Double.NEGATIVE_INFINITY;
                    double[] s = new double[i + 1];
                    for (int j = 0; j <= i; j++) {
                        double dot = 0;
                        for (int c = 0; c < d; c++) dot += qr[i * qw + hd * d + c] * kr[j * kvw + g * d + c];
                        s[j] = dot / Math.sqrt(d);
                        max = Math.max(max, s[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j <= i; j++) sum += (s[j] = Math.exp(s[j] - max));
                    for (int j = 0; j <= i; j++) a[hd][i * t + j] = s[j] / sum;
                    for (int c = 0; c < d; c++) {
                        double acc = 0;
                        for (int j = 0; j <= i; j++) acc += a[hd][i * t + j] * v[j * kvw + g * d + c];
                        o[i * qw + hd * d + c] = acc;
                    }
                }
            }
            out.add(new Layer(q, k, a, o));
            double[] attn = linear(o, w.get(p + "self_attn.o_proj.weight"), attentionBias ? w.get(p + "self_attn.o_proj.bias") : null, t, qw, hidden);
            for (int i = 0; i < h.length; i++) h[i] += attn[i];
            x = norm(h, w.get(p + "post_attention_layernorm.weight"), t, hidden, eps);
            double[] gate = linear(x, w.get(p + "mlp.gate_proj.weight"), mlpBias ? w.get(p + "mlp.gate_proj.bias") : null, t, hidden, inter);
            double[] up = linear(x, w.get(p + "mlp.up_proj.weight"), mlpBias ? w.get(p + "mlp.up_proj.bias") : null, t, hidden, inter);
            for (int i = 0; i < gate.length; i++) gate[i] = gate[i] / (1 + Math.exp(-gate[i])) * up[i];
            double[] down = linear(gate, w.get(p + "mlp.down_proj.weight"), mlpBias ? w.get(p + "mlp.down_proj.bias") : null, t, inter, hidden);
            for (int i = 0; i < h.length; i++) h[i] += down[i];
        }
        return out;
    }

    private static double[] norm(double[] h, double[] weight, int t, int n, double eps) {
        double[] y = new double[h.length];
        for (int i = 0; i < t; i++) {
            double ms = 0;
            for (int j = 0; j < n; j++) ms += h[i * n + j] * h[i * n + j];
            double r = 1 / Math.sqrt(ms / n + eps);
            for (int j = 0; j < n; j++) y[i * n + j] = weight[j] * h[i * n + j] * r;
        }
        return y;
    }

    private static double[] linear(double[] x, double[] w, double[] b, int t, int in, int out) {
        double[] y = new double[t * out];
        for (int i = 0; i < t; i++) {
            for (int o = 0; o < out; o++) {
                double s = b == null ? 0 : b[o];
                for (int c = 0; c < in; c++) s += x[i * in + c] * w[o * in + c];
                y[i * out + o] = s;
            }
        }
        return y;
    }

    /** x·cos + rotate_half(x)·sin per head, positions 0..T−1. */
    private static double[] rotate(double[] x, int t, int heads, int d, double[] inv) {
        double[] y = new double[x.length];
        int half = d / 2;
        for (int i = 0; i < t; i++) {
            for (int hd = 0; hd < heads; hd++) {
                int at = i * heads * d + hd * d;
                for (int c = 0; c < d; c++) {
                    double angle = i * inv[c % half];
                    double rot = c < half ? -x[at + c + half] : x[at + c - half];
                    y[at + c] = x[at + c] * Math.cos(angle) + rot * Math.sin(angle);
                }
            }
        }
        return y;
    }
}
