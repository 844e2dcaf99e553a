package dev.entangle.ingest.core;

import com.fasterxml.jackson.databind.JsonNode;
import dev.entangle.core.CheckpointException;
import dev.entangle.core.checkpoint.AdapterConfig;
import dev.entangle.core.checkpoint.Checkpoint;
import dev.entangle.core.checkpoint.CheckpointKind;
import dev.entangle.store.CheckpointManifest;
import dev.entangle.store.CheckpointManifest.Blob;
import dev.entangle.store.Layout;
import dev.entangle.store.ObjectStore;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

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

    private static final Pattern CHECKPOINT_DIR = Pattern.compile("checkpoint-(\\d+)");

    private final ObjectStore store;
    private final Path spoolRoot;
    private final List<String> fftModules;
    private final RunOwnership owners;
    private final ManifestCommit commit;

    /**
     * @param store      the object store
     * @param spoolRoot  local scratch space for spooled tensors (deleted after each ingest)
     * @param fftModules linear modules whose W is kept for full models (FFT checkpoints and bases)
     */
    public CheckpointIngester(ObjectStore store, Path spoolRoot, List<String> fftModules) {
        this.store = store;
        this.spoolRoot = spoolRoot;
        this.fftModules = List.copyOf(fftModules);
        this.owners = new RunOwnership(store);
        this.commit = new ManifestCommit(store);
    }

    /** Ingests a training checkpoint (LoRA, MPS adapter or full model). */
    public IngestOutcome ingest(Path dir, IngestRequest req) throws IOException {
        Optional<TrainerEvent> event = TrainerEvent.read(dir);
        String run = Layout.requireName(firstNonNull(req.run(), event.map(TrainerEvent::run).orElse(null), dir, "run"), "run");
        long step = req.step() != null ? req.step()
                : event.map(TrainerEvent::step).orElseGet(() -> stepFromFolder(dir));
        if (req.tenant() != null) owners.require(run, req.tenant(), String.valueOf(dir));
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
                case FULL_MODEL -> TensorSelection.fullModel(ckpt, fftModules, req.baseId(), registeredBase(ckpt, req.baseId()));
            };
            CheckpointManifest.Hyper hyper = hyper(ckpt, event, req);
            CheckpointManifest.Metrics metrics = new CheckpointManifest.Metrics(
                    firstNonNull(req.trainLoss(), event.map(TrainerEvent::trainLoss).orElse(null)),
                    firstNonNull(req.testLoss(), event.map(TrainerEvent::testLoss).orElse(null)));
            return store(dir, ckpt, sel, run, step, method, req.baseId(), hyper, metrics, req.tenant());
        }
    }

    /** Registers a base model under a name (its target W only), once; FFT runs refer to it. */
    public IngestOutcome registerBase(Path dir, String name) throws IOException {
        Layout.requireName(name, "base model");
        try (Checkpoint ckpt = Checkpoint.open(dir)) {
            if (ckpt.kind() != CheckpointKind.FULL_MODEL) {
                throw new CheckpointException(dir, null, "base is not a full model", "found a " + ckpt.kind().method() + " checkpoint");
            }
            TensorSelection sel = TensorSelection.base(ckpt, fftModules);
            String key = Layout.baseManifest(name);
            Optional<byte[]> existing = store.read(key);
            try (Spool spool = Spool.write(spoolRoot, ckpt.tensors(), sel.tensors(), null)) {
                if (existing.isPresent()) {
                    CheckpointManifest m = CheckpointManifest.fromJson(existing.get());
                    if (!sameTensors(m.tensors(), spool.blobs())) {
                        throw new CheckpointException(dir, null, "base name taken", "base model '" + name + "' is registered with other weights");
                    }
                    return new IngestOutcome(m, IngestOutcome.State.DUPLICATE, 0);
                }
                CheckpointManifest m = new CheckpointManifest(CheckpointManifest.SCHEMA, name, null, null, CheckpointManifest.BASE_METHOD,
                        null, null, null, ckpt.config(), spool.blobs(), null, 0, List.of(), System.currentTimeMillis(), null);
                long bytes = commit.commit(spool, m, key, null);
                return new IngestOutcome(m, IngestOutcome.State.NEW, bytes);
            }
        }
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

    /** The base model a full fine-tuning checkpoint is measured against, as registered. */
    private CheckpointManifest registeredBase(Checkpoint ckpt, String baseId) throws IOException {
        if (baseId == null) {
            throw new CheckpointException(ckpt.dir(), null, "missing base for FFT",
                    "a full fine-tuning checkpoint needs a registered base model (--base BASE_ID)");
        }
        return store.read(Layout.baseManifest(baseId)).map(CheckpointIngester::parse).orElseThrow(() ->
                new CheckpointException(ckpt.dir(), null, "unknown base model", "'" + baseId + "' is not registered; ingest it with --base-model first"));
    }

    private IngestOutcome store(Path dir, Checkpoint ckpt, TensorSelection sel, String run, long step, String method, String baseId,
                                CheckpointManifest.Hyper hyper, CheckpointManifest.Metrics metrics, String tenant) throws IOException {
        JsonNode config = ckpt.config();
        try (Spool spool = Spool.write(spoolRoot, ckpt.tensors(), sel.tensors(), sel.probe())) {
            String id = CheckpointId.of(run, step, method, baseId, config, spool);
            String manifestKey = Layout.checkpointManifest(id);
            Optional<byte[]> existing = store.read(manifestKey);
            if (existing.isPresent()) {
                CheckpointManifest m = parse(existing.get());
                boolean published = store.exists(Layout.published(id));
                return new IngestOutcome(m, published ? IngestOutcome.State.DUPLICATE : IngestOutcome.State.UNPUBLISHED, 0);
            }
            Optional<byte[]> indexed = store.read(Layout.runStep(run, step));
            if (indexed.isPresent() && !new String(indexed.get(), StandardCharsets.UTF_8).equals(id)) {
                throw new CheckpointException(dir, null, "run step already ingested",
                        "run '" + run + "' step " + step + " holds another checkpoint (" + new String(indexed.get(), StandardCharsets.UTF_8).substring(0, 12)
                                + "…); a step's checkpoint cannot change");
            }
            CheckpointManifest m = new CheckpointManifest(CheckpointManifest.SCHEMA, id, run, step, method, baseId, hyper, metrics,
                    config, spool.blobs(), spool.probe(), sel.probeLayers(), sel.targets(), System.currentTimeMillis(), tenant);
            if (tenant != null) owners.claim(run, tenant, String.valueOf(dir));
            long bytes = commit.commit(spool, m, manifestKey, Layout.runStep(run, step));
            return new IngestOutcome(m, IngestOutcome.State.NEW, bytes);
        }
    }

    // ---- small helpers ------------------------------------------------------------------------

    private static CheckpointManifest.Hyper hyper(Checkpoint ckpt, Optional<TrainerEvent> ev, IngestRequest req) {
        Optional<AdapterConfig> cfg = ckpt.adapter();
        Integer r = cfg.map(AdapterConfig::r).orElse(ev.map(TrainerEvent::rank).orElse(null));
        Double alpha = cfg.map(AdapterConfig::loraAlpha).orElse(ev.map(TrainerEvent::loraAlpha).orElse(null));
        Boolean rslora = cfg.map(AdapterConfig::useRslora).orElse(null);
        Integer bond = cfg.map(AdapterConfig::bondDim).orElse(ev.map(TrainerEvent::bondDim).orElse(null));
        Double lr = firstNonNull(req.learningRate(), ev.map(TrainerEvent::learningRate).orElse(null));
        return new CheckpointManifest.Hyper(r, alpha, rslora, bond, lr);
    }

    private static boolean sameTensors(Map<String, Blob> a, Map<String, Blob> b) {
        if (!a.keySet().equals(b.keySet())) return false;
        return a.entrySet().stream().allMatch(e -> e.getValue().sha256().equals(b.get(e.getKey()).sha256()));
    }

    private static long stepFromFolder(Path dir) {
        Matcher m = CHECKPOINT_DIR.matcher(String.valueOf(dir.toAbsolutePath().normalize().getFileName()));
        if (!m.matches()) {
            throw new CheckpointException(dir, null, "step unknown", "give --step, a trainer_event.json with \"step\", or a folder named checkpoint-N");
        }
        return Long.parseLong(m.group(1));
    }

    private static String firstNonNull(String a, String b, Path dir, String what) {
        if (a != null) return a;
        if (b != null) return b;
        throw new CheckpointException(dir, null, what + " unknown", "give --" + what + " or a trainer_event.json with \"" + what + "\"");
    }

    private static <T> T firstNonNull(T a, T b) {
        return a != null ? a : b;
    }

    private static CheckpointManifest parse(byte[] json) {
        try {
            return CheckpointManifest.fromJson(json);
        } catch (IOException e) {
            throw new IllegalStateException("stored manifest is not readable: " + e.getMessage(), e);
        }
    }
}
