package dev.entangle.core.safetensors;

import java.nio.file.Path;
import java.util.Map;
import java.util.Set;

/** Named tensors read lazily from one safetensors file or a sharded set of them. */
public interface TensorSource extends AutoCloseable {

    /** The file (or index file) the tensors come from; used in error messages. */
    Path location();

    Set<String> names();

    default boolean contains(String name) { return names().contains(name); }

    /** Header entry of a tensor; a CheckpointException names the file when it is missing. */
    TensorInfo info(String name);

    /** The tensor's values decoded exactly into double, row-major; non-finite values are refused. */
    double[] readDoubles(String name);

    /**
     * The tensor's values in float32, row-major, as a model that computes in float32 loads them:
     * exact for F32, F16 and BF16, F64 rounded to nearest; non-finite values are refused. The
     * default decodes through {@link #readDoubles}; files decode straight into float.
     */
    default float[] readFloats(String name) {
        double[] d = readDoubles(name);
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) f[i] = (float) d[i];
        return f;
    }

    /**
     * {@link #readFloats} into {@code into}, which must hold exactly the tensor's elements: a
     * forward pass decodes each layer's weights into the same arrays rather than new ones.
     */
    default void readFloatsInto(String name, float[] into) {
        float[] f = readFloats(name);
        if (f.length != into.length) throw new IllegalArgumentException(name + " has " + f.length + " values, the array " + into.length);
        System.arraycopy(f, 0, into, 0, f.length);
    }

    /**
     * The given rows of the tensor's leading axis in float32, in the order asked (an embedding
     * table's rows for a sequence of token ids), each row's values row-major; the same decoding as
     * {@link #readFloats}. Files read only those rows; the default reads the whole tensor.
     */
    default float[] readRowsFloat(String name, int[] rows) {
        TensorInfo t = info(name);
        int width = rowWidth(t, rows);
        float[] all = readFloats(name);
        float[] out = new float[Math.multiplyExact(rows.length, width)];
        for (int i = 0; i < rows.length; i++) System.arraycopy(all, rows[i] * width, out, i * width, width);
        return out;
    }

    /** The elements per row of the tensor's leading axis; refuses rows outside it. */
    static int rowWidth(TensorInfo t, int[] rows) {
        if (t.rank() < 1) throw new IllegalArgumentException(t.name() + " is a scalar: it has no rows");
        long n = t.dim(0);
        for (int r : rows) {
            if (r < 0 || r >= n) throw new IllegalArgumentException(t.name() + ": row " + r + " outside its " + n + " rows");
        }
        return Math.toIntExact(n == 0 ? 0 : t.elementCount() / n);
    }

    /** Checks every value is finite without materialising the tensor (bounded memory). */
    void requireFinite(String name);

    /** Writes the tensor as a standalone one-tensor safetensors file, bytes unchanged, in bounded chunks. */
    void writeStandalone(String name, java.io.OutputStream out) throws java.io.IOException;

    /** The {@code __metadata__} map (empty when absent). */
    Map<String, String> metadata();

    @Override
    void close();
}
