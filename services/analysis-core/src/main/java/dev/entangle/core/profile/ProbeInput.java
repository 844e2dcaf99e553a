package dev.entangle.core.profile;

import com.fasterxml.jackson.databind.JsonNode;
import dev.entangle.core.CheckpointException;
import dev.entangle.core.attention.AttentionProbe;
import dev.entangle.core.json.JsonTree;
import dev.entangle.core.model.ProbeTokens;
import dev.entangle.core.safetensors.SafetensorsFile;
import dev.entangle.core.safetensors.TensorInfo;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A probe sequence's token ids from a file: a JSON array of integers ({@code [1, 306, ...]}, or
 * one row of a batch {@code [[1, 306, ...]]}), or a safetensors file's integer {@code input_ids}
 * [1, T] (or [T]), as a tokenizer or a previous probe wrote them.
 */
public final class ProbeInput {

    private ProbeInput() {}

    public static ProbeTokens read(Path file) {
        if (!Files.isRegularFile(file)) throw new CheckpointException(file, null, "probe tokens missing", "no such file");
        return SafetensorsFile.isSafetensors(file) ? fromSafetensors(file) : fromJson(file);
    }

    private static ProbeTokens fromSafetensors(Path file) {
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            String name = AttentionProbe.INPUT_IDS;
            if (!f.contains(name)) throw new CheckpointException(file, name, "probe tokens missing", "the file has no input_ids tensor");
            TensorInfo t = f.info(name);
            long[] s = t.shape();
            if (!(s.length == 1 || (s.length == 2 && s[0] == 1))) {
                throw new CheckpointException(file, name, "probe tokens not one sequence", "shape " + java.util.Arrays.toString(s) + ", need [1, T] or [T]");
            }
            if (t.dtype().floating()) throw new CheckpointException(file, name, "probe tokens not integers", "dtype " + t.dtype());
            double[] v = f.readDoubles(name);
            int[] ids = new int[v.length];
            for (int i = 0; i < ids.length; i++) ids[i] = id(file, name, i, v[i]);
            return new ProbeTokens(ids, file, name);
        }
    }

    private static ProbeTokens fromJson(Path file) {
        JsonNode root;
        try {
            root = JsonTree.read(Files.readString(file));
        } catch (IOException e) {
            String msg = e.getMessage() == null ? "" : e.getMessage().lines().findFirst().orElse("");
            throw new CheckpointException(file, null, "probe tokens not valid JSON", msg, e);
        }
        if (root != null && root.isArray() && root.size() == 1 && root.get(0).isArray()) root = root.get(0);
        if (root == null || !root.isArray()) {
            throw new CheckpointException(file, null, "probe tokens not a JSON array", "need [id, id, ...] (or one row [[id, ...]])");
        }
        int[] ids = new int[root.size()];
        for (int i = 0; i < ids.length; i++) {
            JsonNode n = root.get(i);
            if (!n.isNumber()) throw new CheckpointException(file, null, "probe token not an integer", "element " + i + " is " + n);
            ids[i] = id(file, null, i, n.doubleValue());
        }
        return new ProbeTokens(ids, file, null);
    }

    private static int id(Path file, String tensor, int i, double v) {
        if (v != Math.rint(v) || v < 0 || v > Integer.MAX_VALUE) {
            throw new CheckpointException(file, tensor, "probe token not an integer", "element " + i + " is " + v + ", need an id >= 0");
        }
        return (int) v;
    }
}
