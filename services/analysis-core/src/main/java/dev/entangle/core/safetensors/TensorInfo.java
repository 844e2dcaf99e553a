package dev.entangle.core.safetensors;

import java.nio.file.Path;
import java.util.Arrays;

/**
 * One header entry of a safetensors file: dtype, shape and the byte span
 * {@code [begin, end)} relative to the start of the data buffer.
 */
public record TensorInfo(Path file, String name, DType dtype, long[] shape, long begin, long end) {

    public TensorInfo {
        shape = shape.clone();
    }

    @Override
    public long[] shape() { return shape.clone(); }

    public int rank() { return shape.length; }

    public long dim(int axis) { return shape[axis]; }

    public long elementCount() {
        long n = 1;
        for (long d : shape) n = Math.multiplyExact(n, d);
        return n;
    }

    public long byteLength() { return end - begin; }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorInfo t && t.name.equals(name) && t.dtype == dtype
                && Arrays.equals(t.shape, shape) && t.begin == begin && t.end == end
                && java.util.Objects.equals(t.file, file);
    }

    @Override
    public int hashCode() { return name.hashCode() * 31 + Arrays.hashCode(shape); }

    @Override
    public String toString() { return name + " " + dtype + Arrays.toString(shape); }
}
