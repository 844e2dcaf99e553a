package dev.entangle.core.profile;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The scalar numbers a profile carries beside its cuts, each under one key everywhere (the
 * profile JSON, the results' {@code extras} map, comparisons). The theory behind each is named
 * where it is computed: ΔW caps (Lemma X.1), Attention Cardy (Theorem II.1), the output operator's
 * stable-rank bounds (Lemma II.2).
 */
public enum Extra {
    // ΔW of an adapter: the rank r and the cap ln r at the row/column cut (paper Lemma X.1)
    RANK("rank", true),
    LN_R("ln_r"),
    // an attention head (AttentionCardy)
    SIGMA2("sigma2"),
    CARDY_CHARGE("cardy_charge"),
    CARDY_CONSTANT("cardy_constant"),
    CARDY_S("cardy_S"),
    CARDY_S2("cardy_S2"),
    CARDY_S2_LEADING("cardy_S2_leading"),
    S_MATRIX("S_matrix"),
    S2_MATRIX("S2_matrix"),
    // whether the head's attention is the model's own (1) or rebuilt from q/k (0): results only
    CAPTURED("captured", true),
    // the output operator X Xᵀ (OutputOperator)
    STABLE_RANK("stable_rank"),
    ETA("eta"),
    DELTA1("delta1"),
    DELTA("delta"),
    S_RHO("S_rho"),
    S2_RHO("S2_rho"),
    S_BOUND("S_bound"),
    S2_BOUND("S2_bound"),
    DELTA1_BOUND("delta1_bound");

    private final String key;
    private final boolean integral;

    Extra(String key) {
        this(key, false);
    }

    Extra(String key, boolean integral) {
        this.key = key;
        this.integral = integral;
    }

    /** The key in JSON and in the results' extras map. */
    public String key() { return key; }

    /** Counts (rank) are written as integers in the profile JSON. */
    public boolean integral() { return integral; }

    /** This extra's value in a results' extras map, if present. */
    public Optional<Double> in(Map<String, Double> extras) {
        return Optional.ofNullable(extras.get(key));
    }

    /** Typed extras as the string-keyed map results carry, in their order. */
    public static Map<String, Double> byKey(Map<Extra, Double> extras) {
        Map<String, Double> out = new LinkedHashMap<>();
        extras.forEach((e, v) -> out.put(e.key, v));
        return out;
    }

    /** The adapter extras of a ΔW of rank r (none for a dense update, r = 0). */
    public static Map<Extra, Double> ofRank(int rank) {
        Map<Extra, Double> out = new LinkedHashMap<>();
        if (rank > 0) {
            out.put(RANK, (double) rank);
            out.put(LN_R, Math.log(rank));
        }
        return out;
    }
}
