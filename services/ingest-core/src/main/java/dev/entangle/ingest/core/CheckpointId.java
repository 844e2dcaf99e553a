package dev.entangle.ingest.core;

import com.fasterxml.jackson.databind.JsonNode;

import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * A checkpoint's id: sha256 over run, step, method, base, the config (canonical JSON) and every
 * stored blob's digest. The same checkpoint always gets the same id, so a repeated ingest is
 * found, and a step whose content changed is not mistaken for it.
 */
final class CheckpointId {

    private CheckpointId() {}

    static String of(String run, long step, String method, String baseId, JsonNode config, Spool spool) {
        StringBuilder sb = new StringBuilder();
        sb.append("entangle-checkpoint-v1\n").append(run).append('\n').append(step).append('\n').append(method).append('\n')
                .append(baseId == null ? "" : baseId).append('\n').append(config == null ? "" : canonical(config)).append('\n');
        spool.blobs().forEach((name, b) -> sb.append(name).append('=').append(b.sha256()).append('\n'));
        if (spool.probe() != null) sb.append("probe=").append(spool.probe().sha256()).append('\n');
        return HexFormat.of().formatHex(Spool.sha256().digest(sb.toString().getBytes(StandardCharsets.UTF_8)));
    }

    /** JSON with object keys sorted, so the id does not depend on key order. */
    static String canonical(JsonNode n) {
        if (n.isObject()) {
            StringBuilder sb = new StringBuilder("{");
            new TreeMap<String, JsonNode>(n.properties().stream().collect(Collectors.toMap(Map.Entry::getKey, Map.Entry::getValue)))
                    .forEach((k, v) -> sb.append('"').append(k).append("\":").append(canonical(v)).append(','));
            return sb.append('}').toString();
        }
        if (n.isArray()) {
            StringBuilder sb = new StringBuilder("[");
            n.forEach(v -> sb.append(canonical(v)).append(','));
            return sb.append(']').toString();
        }
        return n.toString();
    }
}
