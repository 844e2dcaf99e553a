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

    /** Checks every value is finite without materialising the tensor (bounded memory). */
    void requireFinite(String name);

    /** Writes the tensor as a standalone one-tensor safetensors file, bytes unchanged, in bounded chunks. */
    void writeStandalone(String name, java.io.OutputStream out) throws java.io.IOException;

    /** The {@code __metadata__} map (empty when absent). */
    Map<String, String> metadata();

    @Override
    void close();
}
