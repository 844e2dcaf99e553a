package dev.entangle.core.safetensors;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.entangle.core.CheckpointException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * A sharded checkpoint: {@code model.safetensors.index.json} maps each tensor name to the shard
 * file holding it. Shards are opened (header only) when first needed; every shard named by the
 * index must agree with it.
 */
public final class ShardedSafetensors implements TensorSource {

    private final Path index;
    private final Map<String, String> weightMap;
    private final Map<String, String> metadata;
    private final Map<String, SafetensorsFile> open = new HashMap<>();

    private ShardedSafetensors(Path index, Map<String, String> weightMap, Map<String, String> metadata) {
        this.index = index;
        this.weightMap = weightMap;
        this.metadata = metadata;
    }

    public static ShardedSafetensors open(Path index) {
        JsonNode root;
        try {
            root = JsonMapper.builder().build().readTree(Files.readString(index));
        } catch (IOException e) {
            throw new CheckpointException(index, null, "index not valid JSON", e.getMessage(), e);
        }
        Map<String, String> weightMap = weightMap(index, root);
        Map<String, String> metadata = new LinkedHashMap<>();
        JsonNode md = root.get("metadata");
        if (md != null && md.isObject()) md.properties().forEach(e -> metadata.put(e.getKey(), e.getValue().asText()));
        ShardedSafetensors s = new ShardedSafetensors(index, Collections.unmodifiableMap(weightMap),
                Collections.unmodifiableMap(metadata));
        // Validate every shard's header and that it holds what the index says, before any use.
        try {
            for (String shard : new java.util.TreeSet<>(weightMap.values())) s.shard(shard);
            for (Map.Entry<String, String> e : weightMap.entrySet()) {
                if (!s.shard(e.getValue()).contains(e.getKey())) {
                    throw new CheckpointException(index.resolveSibling(e.getValue()), e.getKey(),
                            "tensor missing from its shard", "the index places it in " + e.getValue());
                }
            }
        } catch (RuntimeException ex) {
            s.close();
            throw ex;
        }
        return s;
    }

    /** The shard files an index names (checked: plain safetensors file names beside it), sorted. */
    public static Set<String> shardNames(Path index, JsonNode root) {
        return new java.util.TreeSet<>(weightMap(index, root).values());
    }

    private static Map<String, String> weightMap(Path index, JsonNode root) {
        JsonNode wm = root == null ? null : root.get("weight_map");
        if (wm == null || !wm.isObject()) {
            throw new CheckpointException(index, null, "index has no weight_map", null);
        }
        Map<String, String> weightMap = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : wm.properties()) {
            String shard = e.getValue().asText();
            checkShardName(index, e.getKey(), shard);
            weightMap.put(e.getKey(), shard);
        }
        return weightMap;
    }

    /** A shard must be a plain file name beside the index: no directories, no "..", no absolute paths. */
    private static void checkShardName(Path index, String tensor, String shard) {
        if (shard.isEmpty() || shard.contains("/") || shard.contains("\\") || shard.contains("..")
                || Path.of(shard).isAbsolute()) {
            throw new CheckpointException(index, tensor, "unsafe shard path", "'" + shard + "' is not a plain file name");
        }
        if (!shard.endsWith(".safetensors")) {
            SafetensorsFile.refuseUnsafeFormats(Path.of(shard));
            throw new CheckpointException(index, tensor, "shard not safetensors", shard);
        }
    }

    private SafetensorsFile shard(String name) {
        return open.computeIfAbsent(name, n -> {
            Path p = index.resolveSibling(n);
            if (!Files.isRegularFile(p)) {
                throw new CheckpointException(p, null, "shard missing", "named by " + index.getFileName());
            }
            return SafetensorsFile.open(p);
        });
    }

    private SafetensorsFile shardOf(String tensor) {
        String s = weightMap.get(tensor);
        if (s == null) throw new CheckpointException(index, tensor, "tensor missing", null);
        return shard(s);
    }

    @Override
    public Path location() { return index; }

    @Override
    public Set<String> names() { return weightMap.keySet(); }

    @Override
    public TensorInfo info(String name) { return shardOf(name).info(name); }

    @Override
    public double[] readDoubles(String name) { return shardOf(name).readDoubles(name); }

    @Override
    public float[] readFloats(String name) { return shardOf(name).readFloats(name); }

    @Override
    public void readFloatsInto(String name, float[] into) { shardOf(name).readFloatsInto(name, into); }

    @Override
    public float[] readRowsFloat(String name, int[] rows) { return shardOf(name).readRowsFloat(name, rows); }

    @Override
    public void requireFinite(String name) { shardOf(name).requireFinite(name); }

    @Override
    public void writeStandalone(String name, java.io.OutputStream out) throws IOException { shardOf(name).writeStandalone(name, out); }

    @Override
    public Map<String, String> metadata() { return metadata; }

    @Override
    public void close() {
        open.values().forEach(SafetensorsFile::close);
        open.clear();
    }
}
