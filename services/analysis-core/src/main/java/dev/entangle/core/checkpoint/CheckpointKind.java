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
    MPS("mps");

    private final String method;

    CheckpointKind(String method) {
        this.method = method;
    }

    /** The fine-tuning method name used in events and reports. */
    public String method() { return method; }

    /** The kind whose method name this is. */
    public static Optional<CheckpointKind> ofMethod(String method) {
        return Arrays.stream(values()).filter(k -> k.method.equals(method)).findFirst();
    }
}
