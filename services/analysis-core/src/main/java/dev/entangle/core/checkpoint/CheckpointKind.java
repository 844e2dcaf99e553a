package dev.entangle.core.checkpoint;

import java.util.Arrays;
import java.util.Optional;

/**
 * What a checkpoint folder holds, detected from its files; its method name is the one events,
 * manifests and reports use (the lowercase name of the events' {@code Method} enum).
 */
public enum CheckpointKind {
    /** HF full model: config.json + model*.safetensors; ΔW = W − W_base. */
    FULL_MODEL("fft"),
    /** PEFT LoRA adapter: adapter_config.json with peft_type LORA; ΔW = (α/r)·B·A. */
    LORA("lora"),
    /** MPS adapter: adapter_config.json with peft_type MPS; ΔW = (α/r)·B·A_mps. */
    MPS("mps"),
    /**
     * PEFT DoRA adapter: adapter_config.json with peft_type LORA and use_dora; ΔW =
     * m ⊙ (W₀ + s·B·A) / ‖W₀ + s·B·A‖ (norm of each output row) − W₀, so it needs the base W₀.
     */
    DORA("dora");

    private final String method;

    CheckpointKind(String method) {
        this.method = method;
    }

    /** The fine-tuning method name used in events and reports. */
    public String method() { return method; }

    /** Whether ΔW needs the base model's weights (full fine-tuning, DoRA). */
    public boolean needsBase() { return this == FULL_MODEL || this == DORA; }

    /** Whether the checkpoint is an adapter (its tensors are the adapter's, configured by adapter_config.json). */
    public boolean adapter() { return this != FULL_MODEL; }

    /** The kind whose method name this is. */
    public static Optional<CheckpointKind> ofMethod(String method) {
        return Arrays.stream(values()).filter(k -> k.method.equals(method)).findFirst();
    }
}
