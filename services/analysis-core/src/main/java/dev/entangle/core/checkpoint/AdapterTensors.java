package dev.entangle.core.checkpoint;

import dev.entangle.core.CheckpointException;
import dev.entangle.core.safetensors.TensorSource;

import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The names of adapter tensors, after a module's prefix ({@link ModuleTensors}):
 * PEFT LoRA {@code .lora_A[.NAME].weight} [r, in] and {@code .lora_B[.NAME].weight} [out, r]
 * (NAME: the adapter's name where PEFT writes one); the MPS adapter (this project's format,
 * examples/tiny-llama/FIXTURES.md) {@code .mps_A.core1} [r, χ, d1], {@code .mps_A.core2} [χ, 1, d2]
 * and {@code .mps_B.weight} [out, r]; DoRA adds {@code .lora_magnitude_vector} [out] (PEFT
 * saves its {@code lora_magnitude_vector.<adapter>.weight} under that name: peft.tuners.lora.model
 * {@code _get_adapter_state_dict}).
 */
public final class AdapterTensors {

    public static final String LORA_A = "lora_A";
    public static final String LORA_B = "lora_B";
    /** DoRA's per-output-row magnitude m. */
    public static final String LORA_MAGNITUDE = "lora_magnitude_vector";
    /** The suffix that marks a LoRA module (its A factor). */
    public static final String LORA_MODULE_SUFFIX = "\\.lora_A(?:\\.[^.]+)?\\.weight";
    /** The suffix that marks an MPS-adapter module (its first core). */
    public static final String MPS_MODULE_SUFFIX = "\\.mps_A\\.core1";

    /** PEFT's wrapper around the model's own names. */
    private static final String PEFT_WRAPPER = "base_model.model.";
    private static final Pattern ADAPTER_TENSOR = Pattern.compile(".*\\.(lora_A|lora_B|lora_magnitude_vector|mps_A|mps_B)(\\..*)?$");
    private static final Pattern ADAPTER_MODULE = Pattern.compile("(?:.*\\.)?layers\\.\\d+\\.(?:.*\\.)?([A-Za-z0-9_]+)\\.(?:lora_A|mps_A)(?:\\..*)?$");

    private AdapterTensors() {}

    /** Whether a tensor is part of an adapter (what ingest keeps of an adapter checkpoint). */
    public static boolean isAdapterTensor(String name) {
        return ADAPTER_TENSOR.matcher(name).matches();
    }

    /** The module an adapter's first factor belongs to (lora_A, mps_A tensors), else empty. */
    public static Optional<String> moduleOf(String name) {
        Matcher m = ADAPTER_MODULE.matcher(name);
        return m.matches() ? Optional.of(m.group(1)) : Optional.empty();
    }

    /**
     * A LoRA factor ({@link #LORA_A} or {@link #LORA_B}) of the module at {@code prefix}: the
     * plain name, or the one named adapter's; several named adapters are ambiguous.
     */
    public static String loraFactor(TensorSource src, String prefix, String part) {
        String plain = prefix + "." + part + ".weight";
        if (src.contains(plain)) return plain;
        String start = prefix + "." + part + ".";
        List<String> named = src.names().stream().filter(n -> n.startsWith(start) && n.endsWith(".weight")).toList();
        if (named.size() == 1) return named.getFirst();
        throw new CheckpointException(src.location(), plain, named.isEmpty() ? "tensor missing" : "ambiguous module",
                named.isEmpty() ? "LoRA needs both lora_A and lora_B" : "several adapters: " + named);
    }

    /** DoRA's magnitude vector m [out] of the module at {@code prefix} (plain, or the one named adapter's). */
    public static String doraMagnitude(TensorSource src, String prefix) {
        String plain = prefix + "." + LORA_MAGNITUDE;
        if (src.contains(plain)) return plain;
        List<String> named = src.names().stream().filter(n -> n.startsWith(plain + ".")).toList();
        if (named.size() == 1) return named.getFirst();
        throw new CheckpointException(src.location(), plain, named.isEmpty() ? "tensor missing" : "ambiguous module",
                named.isEmpty() ? "DoRA (use_dora) needs each module's lora_magnitude_vector" : "several adapters: " + named);
    }

    public static String mpsCore1(String prefix) { return prefix + ".mps_A.core1"; }

    public static String mpsCore2(String prefix) { return prefix + ".mps_A.core2"; }

    public static String mpsB(String prefix) { return prefix + ".mps_B.weight"; }

    /** The module's name as PEFT's patterns see it: without the "base_model.model." wrapper. */
    public static String peftModuleName(String prefix) {
        return prefix.startsWith(PEFT_WRAPPER) ? prefix.substring(PEFT_WRAPPER.length()) : prefix;
    }
}
