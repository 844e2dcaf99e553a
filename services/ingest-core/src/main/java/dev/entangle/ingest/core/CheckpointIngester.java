package dev.entangle.ingest.core;

import com.fasterxml.jackson.databind.JsonNode;
import dev.entangle.core.CheckpointException;
import dev.entangle.core.checkpoint.AdapterConfig;
import dev.entangle.core.checkpoint.Checkpoint;
import dev.entangle.core.checkpoint.CheckpointFiles;
import dev.entangle.core.checkpoint.CheckpointKind;
import dev.entangle.core.model.LlamaConfig;
import dev.entangle.core.model.ProbeTokens;
import dev.entangle.store.CheckpointManifest;
import dev.entangle.store.CheckpointManifest.Blob;
import dev.entangle.store.Layout;
import dev.entangle.store.ObjectStore;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Turns a checkpoint folder into durable, content-addressed objects and a manifest, validating
 * everything with analysis-core before anything becomes visible.
 *
 * <p>Order, so that a rejected or interrupted ingest leaves nothing behind and a repeated one is
 * a no-op: what run and step it is, and whether the tenant may add to that run
 * ({@link RunOwnership}) → which tensors to keep, checked ({@link TensorSelection}) → spool and
 * hash them locally ({@link Spool}) → the checkpoint id ({@link CheckpointId}) → stop if that
 * manifest exists → claim the run → blobs, manifest (the commit point), run/step index
 * ({@link ManifestCommit}). The caller publishes the event and then calls {@link #markPublished}.
 */
public final class CheckpointIngester {

    private final ObjectStore store;
    private final Path spoolRoot;
    private final List<String> fftModules;
    private final RunOwnership owners;
    private final ManifestCommit commit;

    /**
     * @param store      the object store
     * @param spoolRoot  local scratch space for spooled tensors (deleted after each ingest)
     * @param fftModules linear modules whose ΔW is profiled for FFT checkpoints (bases are stored whole)
     */
    public CheckpointIngester(ObjectStore store, Path spoolRoot, List<String> fftModules) {
        this.store = store;
        this.spoolRoot = spoolRoot;
        this.fftModules = List.copyOf(fftModules);
        this.owners = new RunOwnership(store);
        this.commit = new ManifestCommit(store);
    }

    /**
     * Ingests a training checkpoint (LoRA, DoRA, MPS adapter or full model) from the folder
     * {@code dir}. When {@code req.source()} names the folder as its user knows it (an upload, a
     * registration from the object store), every refusal names that instead of {@code dir}.
     */
    public IngestOutcome ingest(Path dir, IngestRequest req) throws IOException {
        if (req.source() == null) return ingestAt(dir, req, CheckpointSource.ofPath(dir.toAbsolutePath().normalize().toString()));
        try {
            return ingestAt(dir, req, req.source());
        } catch (CheckpointException e) {
            throw e.shownAs(dir, req.source().shownAs());
        }
    }

    private IngestOutcome ingestAt(Path dir, IngestRequest req, CheckpointSource source) throws IOException {
        Optional<TrainerEvent> event = TrainerEvent.read(dir);
        TrainerReport report = TrainerReport.of(dir, source, req, event);
        if (req.tenant() != null) owners.require(report.run(), req.tenant(), source.shownAs());
        try (Checkpoint ckpt = Checkpoint.open(dir)) {
            String method = ckpt.kind().method();
            event.map(TrainerEvent::method).ifPresent(m -> {
                if (!m.equalsIgnoreCase(method)) {
                    throw new CheckpointException(dir.resolve(TrainerEvent.FILE), null, "method mismatch",
                            "trainer_event.json says '" + m + "' but the files are a " + method + " checkpoint");
                }
            });
            TensorSelection sel = switch (ckpt.kind()) {
                case LORA, MPS -> TensorSelection.adapter(ckpt);
                case DORA -> TensorSelection.dora(ckpt, req.baseId(), registeredBase(ckpt, req.baseId()));
                case FULL_MODEL -> TensorSelection.fullModel(ckpt, fftModules, req.baseId(), registeredBase(ckpt, req.baseId()));
            };
            String baseId = ckpt.kind().needsBase() ? req.baseId() : adapterBase(ckpt, req.baseId());
            CheckpointManifest.Hyper hyper = hyper(ckpt, event, report);
            CheckpointManifest.Metrics metrics = new CheckpointManifest.Metrics(report.trainLoss(), report.testLoss());
            List<String> notes = new ArrayList<>();
            CheckpointFiles.picklesNote(fileNames(dir)).ifPresent(notes::add);
            ckpt.modulesToSaveNote().ifPresent(notes::add);
            return store(dir, ckpt, sel, report.run(), report.step(), method, baseId, hyper, metrics, req.tenant(), source, notes);
        }
    }

    /** Registers a base model under a name, with no probe set. */
    public IngestOutcome registerBase(Path dir, String name) throws IOException {
        return registerBase(dir, name, List.of());
    }

    /**
     * Registers a base model under a name: every tensor (content-addressed, so a second base that
     * shares tensors stores nothing new), once; FFT and DoRA runs are measured against it, and
     * adapters name it for their forward pass. {@code probeTokens} non-empty: a probe set, checked
     * against the model's config (a model_type the forward pass runs, ids within the vocabulary,
     * T within max_position_embeddings) and added to the base's sets (registering a set again
     * changes nothing).
     */
    public IngestOutcome registerBase(Path dir, String name, List<Integer> probeTokens) throws IOException {
        Layout.requireName(name, "base model");
        try (Checkpoint ckpt = Checkpoint.open(dir)) {
            if (ckpt.kind() != CheckpointKind.FULL_MODEL) {
                throw new CheckpointException(dir, null, "base is not a full model", "found a " + ckpt.kind().method() + " checkpoint");
            }
            List<CheckpointManifest.ProbeSet> sets = new ArrayList<>();
            if (!probeTokens.isEmpty()) sets.add(probeSet(ckpt, probeTokens));
            TensorSelection sel = TensorSelection.base(ckpt);
            String key = Layout.baseManifest(name);
            Optional<byte[]> existing = store.read(key);
            try (Spool spool = Spool.write(spoolRoot, ckpt.tensors(), sel.tensors(), null)) {
                if (existing.isPresent()) {
                    CheckpointManifest m = CheckpointManifest.fromJson(existing.get());
                    if (!sameTensors(m.tensors(), spool.blobs())) {
                        throw new CheckpointException(dir, null, "base name taken", "base model '" + name + "' is registered with other weights");
                    }
                    List<CheckpointManifest.ProbeSet> merged = new ArrayList<>(m.probeSetsOrEmpty());
                    for (CheckpointManifest.ProbeSet p : sets) {
                        if (merged.stream().noneMatch(q -> q.id().equals(p.id()))) merged.add(p);
                    }
                    if (merged.size() == m.probeSetsOrEmpty().size()) return new IngestOutcome(m, IngestOutcome.State.DUPLICATE, 0, List.of());
                    CheckpointManifest more = base(name, ckpt, m.tensors(), merged);
                    store.put(key, more.toJson(), "application/json");   // the blobs are there: the manifest alone changes
                    return new IngestOutcome(more, IngestOutcome.State.NEW, 0, List.of());
                }
                CheckpointManifest m = base(name, ckpt, spool.blobs(), sets);
                long bytes = commit.commit(spool, m, key, null);
                if (bytes == ManifestCommit.LOST_RACE) return new IngestOutcome(m, IngestOutcome.State.DUPLICATE, 0, List.of());
                return new IngestOutcome(m, IngestOutcome.State.NEW, bytes, List.of());
            }
        }
    }

    private static CheckpointManifest base(String name, Checkpoint ckpt, Map<String, Blob> tensors, List<CheckpointManifest.ProbeSet> sets) {
        return new CheckpointManifest(CheckpointManifest.SCHEMA, name, null, null, CheckpointManifest.BASE_METHOD,
                null, null, null, ckpt.config(), tensors, null, 0, List.of(), System.currentTimeMillis(), null, sets.isEmpty() ? null : List.copyOf(sets));
    }

    /** A probe set for a base: the forward pass must be able to run the model on it. */
    private static CheckpointManifest.ProbeSet probeSet(Checkpoint base, List<Integer> ids) {
        LlamaConfig config = LlamaConfig.parse(base.dir().resolve(Checkpoint.MODEL_CONFIG), base.config());
        ProbeTokens tokens = new ProbeTokens(ids.stream().mapToInt(Integer::intValue).toArray(), base.dir(), "probe_tokens");
        tokens.requireFits(config);
        return new CheckpointManifest.ProbeSet(tokens.setId(), List.copyOf(ids));
    }

    /**
     * The registered base an adapter names, for its forward pass: {@code --base} (which must be
     * registered), else its adapter_config.json's base_model_name_or_path where a base is
     * registered under that name or under its last path segment ("meta-llama/Llama-3.2-1B" →
     * "Llama-3.2-1B"); else none.
     */
    private String adapterBase(Checkpoint ckpt, String given) throws IOException {
        if (given != null) {
            if (!Layout.isName(given) || !store.exists(Layout.baseManifest(given))) {
                throw new CheckpointException(ckpt.dir(), null, "unknown base model", "'" + given + "' is not registered; ingest it with --base-model first");
            }
            return given;
        }
        String named = ckpt.config() == null ? "" : ckpt.config().path("base_model_name_or_path").asText("");
        for (String candidate : List.of(named, named.substring(named.lastIndexOf('/') + 1))) {
            if (Layout.isName(candidate) && store.exists(Layout.baseManifest(candidate))) {
                return candidate;
            }
        }
        return null;
    }

    /**
     * Refuses an upload from its header alone (RunOwnershipException), before any file arrives:
     * the ingest service calls it so that another tenant's upload is refused before it streams.
     */
    public void requireOwner(String run, String tenant, String where) throws IOException {
        owners.require(run, tenant, where);
    }

    /** Records that the CheckpointIngested event of a stored checkpoint was acknowledged. */
    public void markPublished(String checkpointId) throws IOException {
        store.put(Layout.published(checkpointId), new byte[0], "application/octet-stream");
    }

    /** The base model a full fine-tuning or DoRA checkpoint is measured against, as registered. */
    private CheckpointManifest registeredBase(Checkpoint ckpt, String baseId) throws IOException {
        if (baseId == null) {
            boolean dora = ckpt.kind() == CheckpointKind.DORA;
            throw new CheckpointException(ckpt.dir(), null, dora ? "missing base for DoRA" : "missing base for FFT",
                    (dora ? "a DoRA adapter (use_dora)" : "a full fine-tuning checkpoint")
                            + " needs a registered base model (--base BASE_ID), as its ΔW depends on W_base");
        }
        return store.read(Layout.baseManifest(baseId)).map(CheckpointIngester::parse).orElseThrow(() ->
                new CheckpointException(ckpt.dir(), null, "unknown base model", "'" + baseId + "' is not registered; ingest it with --base-model first"));
    }

    private IngestOutcome store(Path dir, Checkpoint ckpt, TensorSelection sel, String run, long step, String method, String baseId,
                                CheckpointManifest.Hyper hyper, CheckpointManifest.Metrics metrics, String tenant,
                                CheckpointSource source, List<String> notes) throws IOException {
        JsonNode config = ckpt.config();
        try (Spool spool = Spool.write(spoolRoot, ckpt.tensors(), sel.tensors(), sel.probe())) {
            String id = CheckpointId.of(run, step, method, baseId, config, spool);
            String manifestKey = Layout.checkpointManifest(id);
            Optional<byte[]> existing = store.read(manifestKey);
            if (existing.isPresent()) {
                CheckpointManifest m = parse(existing.get());
                boolean published = store.exists(Layout.published(id));
                return new IngestOutcome(m, published ? IngestOutcome.State.DUPLICATE : IngestOutcome.State.UNPUBLISHED, 0, notes);
            }
            Optional<byte[]> indexed = store.read(Layout.runStep(run, step));
            if (indexed.isPresent() && !new String(indexed.get(), StandardCharsets.UTF_8).equals(id)) {
                throw new CheckpointException(dir, null, "run step already ingested",
                        "run '" + run + "' step " + step + " holds another checkpoint (" + new String(indexed.get(), StandardCharsets.UTF_8).substring(0, 12)
                                + "…); a step's checkpoint cannot change");
            }
            CheckpointManifest m = new CheckpointManifest(CheckpointManifest.SCHEMA, id, run, step, method, baseId, hyper, metrics,
                    config, spool.blobs(), spool.probe(), sel.probeLayers(), sel.targets(), System.currentTimeMillis(), tenant, null);
            if (tenant != null) owners.claim(run, tenant, source.shownAs());
            long bytes = commit.commit(spool, m, manifestKey, Layout.runStep(run, step));
            if (bytes == ManifestCommit.LOST_RACE) {
                // the same checkpoint committed meanwhile by another ingest, which announces it
                return new IngestOutcome(parse(store.read(manifestKey).orElseThrow()), IngestOutcome.State.DUPLICATE, 0, notes);
            }
            return new IngestOutcome(m, IngestOutcome.State.NEW, bytes, notes);
        }
    }

    // ---- small helpers ------------------------------------------------------------------------

    /** r, α, rsLoRA and χ as the adapter config gives them (what ΔW is formed with), else as reported; the learning rate as reported. */
    private static CheckpointManifest.Hyper hyper(Checkpoint ckpt, Optional<TrainerEvent> ev, TrainerReport report) {
        Optional<AdapterConfig> cfg = ckpt.adapter();
        Integer r = cfg.map(AdapterConfig::r).orElse(ev.map(TrainerEvent::rank).orElse(null));
        Double alpha = cfg.map(AdapterConfig::loraAlpha).orElse(ev.map(TrainerEvent::loraAlpha).orElse(null));
        Boolean rslora = cfg.map(AdapterConfig::useRslora).orElse(null);
        Integer bond = cfg.map(AdapterConfig::bondDim).orElse(ev.map(TrainerEvent::bondDim).orElse(null));
        return new CheckpointManifest.Hyper(r, alpha, rslora, bond, report.learningRate());
    }

    private static List<String> fileNames(Path dir) throws IOException {
        try (var s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).toList();
        }
    }

    private static boolean sameTensors(Map<String, Blob> a, Map<String, Blob> b) {
        if (!a.keySet().equals(b.keySet())) return false;
        return a.entrySet().stream().allMatch(e -> e.getValue().sha256().equals(b.get(e.getKey()).sha256()));
    }

    private static CheckpointManifest parse(byte[] json) {
        try {
            return CheckpointManifest.fromJson(json);
        } catch (IOException e) {
            throw new IllegalStateException("stored manifest is not readable: " + e.getMessage(), e);
        }
    }
}
