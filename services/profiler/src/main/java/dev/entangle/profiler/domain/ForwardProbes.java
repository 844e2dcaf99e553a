package dev.entangle.profiler.domain;

import dev.entangle.core.CheckpointException;
import dev.entangle.core.attention.AttentionProbe;
import dev.entangle.core.checkpoint.Checkpoint;
import dev.entangle.core.checkpoint.CheckpointKind;
import dev.entangle.core.engine.LinearAlgebra;
import dev.entangle.core.model.LlamaForward;
import dev.entangle.core.model.ProbeTokens;
import dev.entangle.core.profile.ProbeFolder;
import dev.entangle.core.safetensors.TensorSource;
import dev.entangle.store.CheckpointManifest;
import dev.entangle.store.CheckpointManifest.Blob;
import dev.entangle.store.ForwardProbe;
import dev.entangle.store.Layout;
import dev.entangle.store.ObjectStore;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The probes of checkpoints that have none of their own: the checkpoint's forward pass on its
 * base's probe set (analysis-core's {@link LlamaForward}: a full model on its own weights, an
 * adapter on W0 + ΔW), its captures stored as blobs (one per layer's shard, content-addressed)
 * and recorded by a {@link ForwardProbe} at {@link Layout#forwardProbe}, which is written last.
 *
 * <p>So a forward pass is made once and reused: by the attention and XXᵀ units, by retries and by
 * replicas. In one process, units that need a probe being made wait for it rather than make it
 * again; replicas that race both make the same bytes, and the record is written only if absent.
 * A pass killed midway leaves blobs that nothing names and no record, and the retry makes it anew.
 */
public final class ForwardProbes {

    private final ObjectStore store;
    private final StoredCheckpoints checkpoints;
    private final BlobTensorSource.BlobCache cache;
    private final LinearAlgebra la;
    private final Path scratch;
    private final Map<String, Object> making = new ConcurrentHashMap<>();

    public ForwardProbes(ObjectStore store, StoredCheckpoints checkpoints, LinearAlgebra la, Path scratch) {
        this.store = store;
        this.checkpoints = checkpoints;
        this.cache = checkpoints.cache();
        this.la = la;
        this.scratch = scratch;
    }

    /** The probe set {@code setId} of the checkpoint's base, which its forward pass runs on. */
    public ProbeTokens tokens(CheckpointManifest m, String setId) throws IOException {
        if (m.baseId() == null) {
            throw new CheckpointException(Path.of(Layout.checkpointManifest(m.id())), null, "no base for the forward pass",
                    "the checkpoint names no registered base model, whose probe sets the forward pass runs on");
        }
        String baseKey = Layout.baseManifest(m.baseId());
        CheckpointManifest base = checkpoints.manifest(baseKey);
        CheckpointManifest.ProbeSet set = base.probeSetsOrEmpty().stream().filter(s -> s.id().equals(setId)).findFirst().orElseThrow(() ->
                new CheckpointException(Path.of(baseKey), null, "unknown probe set", "base '" + m.baseId() + "' has no probe set " + setId));
        return new ProbeTokens(set.inputIds().stream().mapToInt(Integer::intValue).toArray(), Path.of(baseKey), "probe_sets." + setId);
    }

    /** The record of the checkpoint's captures on the probe set, made by its forward pass where there is none yet. */
    public ForwardProbe obtain(CheckpointManifest m, String setId) throws IOException {
        String key = Layout.forwardProbe(m.id(), setId);
        Optional<ForwardProbe> done = stored(key);
        if (done.isPresent()) return done.get();
        synchronized (making.computeIfAbsent(key, k -> new Object())) {
            done = stored(key);
            if (done.isPresent()) return done.get();
            ForwardProbe made = run(m, setId);
            if (!store.putIfAbsent(key, made.toJson(), "application/json")) return stored(key).orElseThrow();
            return made;
        }
    }

    /** The captures as a probe that {@link AttentionProbe} reads (blobs fetched on first use); the caller closes it. */
    public TensorSource open(CheckpointManifest m, ForwardProbe p) {
        Path where = Path.of("s3:", Layout.forwardProbe(m.id(), p.probeSet()));
        return new BlobTensorSource(where, p.tensors(), cache, p.metadata());
    }

    private Optional<ForwardProbe> stored(String key) throws IOException {
        Optional<byte[]> json = store.read(key);
        return json.isEmpty() ? Optional.empty() : Optional.of(ForwardProbe.fromJson(json.get()));
    }

    private ForwardProbe run(CheckpointManifest m, String setId) throws IOException {
        ProbeTokens tokens = tokens(m, setId);
        try (ProbeFolder folder = ProbeFolder.temporary(scratch)) {
            try (Checkpoint ckpt = checkpoints.open(m);
                 Checkpoint base = ckpt.kind() == CheckpointKind.FULL_MODEL ? null : checkpoints.base(m.baseId())) {
                LlamaForward forward = LlamaForward.of(ckpt, base, la);
                tokens.requireFits(forward.config());
                forward.run(tokens, folder);
            }
            Map<String, Blob> tensors = new TreeMap<>();
            for (Map.Entry<Path, List<String>> shard : folder.shards().entrySet()) {
                Blob b = upload(shard.getKey());
                for (String name : shard.getValue()) tensors.put(name, b);
            }
            return new ForwardProbe(ForwardProbe.SCHEMA, m.id(), setId, tokens.length(), new TreeMap<>(folder.metadata()), tensors);
        }
    }

    private Blob upload(Path shard) throws IOException {
        String sha = BlobTensorSource.sha256(shard);
        String key = Layout.blob(sha);
        if (!store.exists(key)) store.put(key, shard, "application/octet-stream");
        return new Blob(key, sha, Files.size(shard), null, null);
    }
}
