package dev.entangle.core.safetensors;

import java.util.Optional;

/** The safetensors dtypes, with their byte size; floating types decode exactly into double. */
public enum DType {
    F64(8, true), F32(4, true), F16(2, true), BF16(2, true),
    F8_E4M3(1, false), F8_E5M2(1, false),
    I64(8, false), I32(4, false), I16(2, false), I8(1, false),
    U64(8, false), U32(4, false), U16(2, false), U8(1, false), BOOL(1, false);

    private final int bytes;
    private final boolean floating;

    DType(int bytes, boolean floating) {
        this.bytes = bytes;
        this.floating = floating;
    }

    public int bytes() { return bytes; }

    /** True for the dtypes a weight or activation is stored in (F64/F32/F16/BF16). */
    public boolean floating() { return floating; }

    /** True for the 16-bit float formats whose rounding level matters when ΔW is small. */
    public boolean halfPrecision() { return this == F16 || this == BF16; }

    /** Unit roundoff (half an ulp at 1) of the format; 0 for non-float dtypes. */
    public double unitRoundoff() {
        return switch (this) {
            case F64 -> 0x1p-53;
            case F32 -> 0x1p-24;
            case F16 -> 0x1p-11;
            case BF16 -> 0x1p-8;
            default -> 0;
        };
    }

    public static Optional<DType> parse(String name) {
        for (DType d : values()) if (d.name().equals(name)) return Optional.of(d);
        return Optional.empty();
    }
}
