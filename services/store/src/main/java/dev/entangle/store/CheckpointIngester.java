package dev.entangle.store;

import com.fasterxml.jackson.databind.JsonNode;
import dev.entangle.core.CheckpointException;
import dev.entangle.core.checkpoint.AdapterConfig;
import dev.entangle.core.checkpoint.Checkpoint;
import dev.entangle.core.checkpoint.CheckpointKind;
import dev.entangle.core.checkpoint.DeltaAssembler;
import dev.entangle.core.checkpoint.DeltaMatrix;
import dev.entangle.core.attention.AttentionProbe;
import dev.entangle.core.safetensors.SafetensorsFile;
import dev.entangle.core.safetensors.TensorInfo;
import dev.entangle.core.safetensors.TensorSource;

import dev.entangle.store.CheckpointManifest.Blob;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Turns a checkpoint folder into durable, content-addressed objects and a manifest, validating
 * everything with analysis-core before anything becomes visible.
 *
 * <p>Order of writes, so that a rejected or interrupted ingest leaves nothing behind and a
 * repeated one is a no-op: validate and spool every needed tensor locally (hashing it) → derive
 * the checkpoint id from run, step and content → stop if that manifest exists → upload missing
 * blobs → write the manifest (the commit point) → write the run/step index. The caller publishes
 * the event and then calls {@link #markPublished}. On failure, blobs this call created are deleted.
 */
public final class CheckpointIngester {

    private static final Pattern ADAPTER_TENSOR = Pattern.compile(".*\\.(lora_A|lora_B|mps_A|mps_B)(\\..*)?$");
    private static final Pattern ADAPTER_MODULE = Pattern.compile("(?:.*\\.)?layers\\.\\d+\\.(?:.*\\.)?([A-Za-z0-9_]+)\\.(?:lora_A|mps_A)(?:\\..*)?$");
    private static final Pattern CHECKPOINT_DIR = Pattern.compile("checkpoint-(\\d+)");

    private final ObjectStore store;
    private final Path spoolRoot;
    private final List<String> fftModules;

    /**
     * @param store      the object store
     * @param spoolRoot  local scratch space for spooled tensors (deleted after each ingest)
     * @param fftModules linear modules whose W is kept for full models (FFT checkpoints and bases)
     */
    public CheckpointIngester(ObjectStore store, Path spoolRoot, List<String> fftModules) {
        this.store = store;
        this.spoolRoot = spoolRoot;
        this.fftModules = List.copyOf(fftModules);
    }

    /** Ingests a training checkpoint (LoRA, MPS adapter or full model). */
    public IngestOutcome ingest(Path dir, IngestRequest req) throws IOException {
        Optional<TrainerEvent> event = TrainerEvent.read(dir);
        String run = Layout.requireName(firstNonNull(req.run(), event.map(TrainerEvent::run).orElse(null), dir, "run"), "run");
        long step = req.step() != null ? req.step()
                : event.map(TrainerEvent::step).orElseGet(() -> stepFromFolder(dir));
        if (req.tenant() != null) requireOwner(dir, run, req.tenant());
        try (Checkpoint ckpt = Checkpoint.open(dir)) {
            String method = ckpt.kind().method();
            event.map(TrainerEvent::method).ifPresent(m -> {
                if (!m.equalsIgnoreCase(method)) {
                    throw new CheckpointException(dir.resolve(TrainerEvent.FILE), null, "method mismatch",
                            "trainer_event.json says '" + m + "' but the files are a " + method + " checkpoint");
                }
            });
            Selection sel = switch (ckpt.kind()) {
                case LORA, MPS -> selectAdapter(ckpt);
                case FULL_MODEL -> selectFullModel(ckpt, req.baseId());
            };
            CheckpointManifest.Hyper hyper = hyper(ckpt, event, req);
            CheckpointManifest.Metrics metrics = new CheckpointManifest.Metrics(
                    firstNonNull(req.trainLoss(), event.map(TrainerEvent::trainLoss).orElse(null)),
                    firstNonNull(req.testLoss(), event.map(TrainerEvent::testLoss).orElse(null)));
            JsonNode config = ckpt.config();
            return store(dir, ckpt, sel, run, step, method, req.baseId(), hyper, metrics, config, req.tenant());
        }
    }

    /** Registers a base model under a name (its target W only), once; FFT runs refer to it. */
    public IngestOutcome registerBase(Path dir, String name) throws IOException {
        Layout.requireName(name, "base model");
        try (Checkpoint ckpt = Checkpoint.open(dir)) {
            if (ckpt.kind() != CheckpointKind.FULL_MODEL) {
                throw new CheckpointException(dir, null, "base is not a full model", "found a " + ckpt.kind().method() + " checkpoint");
            }
            Selection sel = new Selection(locateFullModelTensors(ckpt), List.of(), null);
            for (String t : sel.tensors()) ckpt.tensors().requireFinite(t);
            String key = Layout.baseManifest(name);
            Optional<byte[]> existing = store.read(key);
            Spool spool = spool(ckpt, sel, null);
            try {
                if (existing.isPresent()) {
                    CheckpointManifest m = CheckpointManifest.fromJson(existing.get());
                    if (!sameTensors(m.tensors(), spool.blobs())) {
                        throw new CheckpointException(dir, null, "base name taken", "base model '" + name + "' is registered with other weights");
                    }
                    return new IngestOutcome(m, IngestOutcome.State.DUPLICATE, 0);
                }
                CheckpointManifest m = new CheckpointManifest(CheckpointManifest.SCHEMA, name, null, null, "base", null, null, null,
                        ckpt.config(), spool.blobs(), null, 0, List.of(), System.currentTimeMillis(), null);
                long bytes = commit(spool, m, key, null);
                return new IngestOutcome(m, IngestOutcome.State.NEW, bytes);
            } finally {
                spool.delete();
            }
        }
    }

    /** Records that the CheckpointIngested event of a stored checkpoint was acknowledged. */
    public void markPublished(String checkpointId) throws IOException {
        store.put(Layout.published(checkpointId), new byte[0], "application/octet-stream");
    }

    // ---- selection ----------------------------------------------------------------------------

    /** Tensors to store, ΔW targets found, and the probe (or null) with the layers it covers. */
    private record Selection(List<String> tensors, List<String> targets, Path probe, int probeLayers) {
        Selection(List<String> tensors, List<String> targets, Probe probe) {
            this(tensors, targets, probe == null ? null : probe.file(), probe == null ? 0 : probe.layers());
        }
    }

    /** A checked probe and the layers 0..n−1 it covers (the profiler plans one attention and one XXᵀ unit each). */
    private record Probe(Path file, int layers) {}

    private Selection selectAdapter(Checkpoint ckpt) {
        TensorSource src = ckpt.tensors();
        Set<String> modules = new LinkedHashSet<>();
        List<String> names = new ArrayList<>();
        for (String n : src.names()) {
            if (!ADAPTER_TENSOR.matcher(n).matches()) continue;
            names.add(n);
            Matcher m = ADAPTER_MODULE.matcher(n);
            if (m.matches()) modules.add(m.group(1));
        }
        if (modules.isEmpty()) {
            throw new CheckpointException(src.location(), null, "no adapter tensors", "no lora_A / mps_A tensors under layers.{i}");
        }
        // Forms every ΔW once: shapes, ranks, patterns and finiteness are checked before anything is stored.
        List<DeltaMatrix> deltas = DeltaAssembler.deltas(ckpt, null, List.copyOf(modules));
        return new Selection(names, deltas.stream().map(DeltaMatrix::key).toList(), probe(ckpt));
    }

    private Selection selectFullModel(Checkpoint ckpt, String baseId) throws IOException {
        if (baseId == null) {
            throw new CheckpointException(ckpt.dir(), null, "missing base for FFT",
                    "a full fine-tuning checkpoint needs a registered base model (--base BASE_ID)");
        }
        CheckpointManifest base = store.read(Layout.baseManifest(baseId)).map(CheckpointIngester::parse).orElseThrow(() ->
                new CheckpointException(ckpt.dir(), null, "unknown base model", "'" + baseId + "' is not registered; ingest it with --base-model first"));
        if (base.config() != null) {
            DeltaAssembler.requireSameArchitecture(ckpt.config(), base.config(), Path.of(Layout.baseManifest(baseId)), ckpt.dir());
        }
        List<String> names = locateFullModelTensors(ckpt);
        List<String> targets = new ArrayList<>();
        for (String n : names) {
            TensorInfo t = ckpt.tensors().info(n);
            Blob b = base.tensors().get(n);
            if (b == null || !b.shape().equals(Arrays.stream(t.shape()).boxed().toList())) {
                throw new CheckpointException(ckpt.tensors().location(), n, "base of another architecture",
                        b == null ? "base '" + baseId + "' has no such tensor" : "shape " + b.shape() + " in the base vs " + Arrays.toString(t.shape()));
            }
            ckpt.tensors().requireFinite(n);
        }
        for (String n : names) targets.add(targetOf(n));
        return new Selection(names, targets, probe(ckpt));
    }

    private List<String> locateFullModelTensors(Checkpoint ckpt) {
        String alt = String.join("|", fftModules.stream().map(Pattern::quote).toList());
        Pattern p = Pattern.compile("^(?:.*\\.)?layers\\.(\\d+)\\.(?:.*\\.)?(" + alt + ")\\.weight$");
        List<String> names = ckpt.tensors().names().stream().filter(n -> p.matcher(n).matches()).sorted().toList();
        if (names.isEmpty()) {
            throw new CheckpointException(ckpt.tensors().location(), null, "target module not found",
                    "no layers.{i}.{" + String.join(",", fftModules) + "}.weight tensors");
        }
        return names;
    }

    private static String targetOf(String tensorName) {
        Matcher m = Pattern.compile("(?:.*\\.)?layers\\.(\\d+)\\.(?:.*\\.)?([A-Za-z0-9_]+)\\.weight$").matcher(tensorName);
        if (!m.matches()) throw new IllegalStateException(tensorName);
        return DeltaMatrix.key(Integer.parseInt(m.group(1)), m.group(2));
    }

    private static Probe probe(Checkpoint ckpt) {
        return ckpt.attentionProbe().map(p -> {
            // Header, dtype sizes and offsets by the format's rules, the declared attention geometry
            // (heads, kv heads, head_dim, seq_len against every tensor), and every value finite.
            try (SafetensorsFile f = SafetensorsFile.open(p)) {
                int[] layers = AttentionProbe.of(f).layers();
                for (String n : f.names()) f.requireFinite(n);
                return new Probe(p, layers[layers.length - 1] + 1);
            }
        }).orElse(null);
    }

    // ---- spool, id, commit --------------------------------------------------------------------

    private record Spool(Path dir, Map<String, Blob> blobs, Map<String, Path> files, Blob probe, Path probeFile) {
        void delete() throws IOException {
            try (var s = Files.walk(dir)) {
                for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
            }
        }
    }

    private Spool spool(Checkpoint ckpt, Selection sel, Path probe) throws IOException {
        Files.createDirectories(spoolRoot);
        Path dir = Files.createTempDirectory(spoolRoot, "ingest-");
        Map<String, Blob> blobs = new TreeMap<>();
        Map<String, Path> files = new TreeMap<>();
        try {
            int i = 0;
            for (String name : sel.tensors()) {
                Path f = dir.resolve("t" + (i++) + ".safetensors");
                TensorInfo t = ckpt.tensors().info(name);
                MessageDigest md = sha256();
                try (OutputStream out = new DigestOutputStream(new java.io.BufferedOutputStream(Files.newOutputStream(f), 1 << 16), md)) {
                    ckpt.tensors().writeStandalone(name, out);
                }
                String sha = HexFormat.of().formatHex(md.digest());
                blobs.put(name, new Blob(Layout.blob(sha), sha, Files.size(f), t.dtype().name(), Arrays.stream(t.shape()).boxed().toList()));
                files.put(name, f);
            }
            Blob probeBlob = null;
            if (probe != null) {
                String sha = sha256(probe);
                probeBlob = new Blob(Layout.blob(sha), sha, Files.size(probe), null, null);
            }
            return new Spool(dir, blobs, files, probeBlob, probe);
        } catch (IOException | RuntimeException e) {
            new Spool(dir, blobs, files, null, null).delete();
            throw e;
        }
    }

    private IngestOutcome store(Path dir, Checkpoint ckpt, Selection sel, String run, long step, String method, String baseId,
                                CheckpointManifest.Hyper hyper, CheckpointManifest.Metrics metrics, JsonNode config,
                                String tenant) throws IOException {
        Spool spool = spool(ckpt, sel, sel.probe());
        try {
            String id = checkpointId(run, step, method, baseId, config, spool);
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
            if (tenant != null) claimRun(dir, run, tenant);
            long bytes = commit(spool, m, manifestKey, Layout.runStep(run, step));
            return new IngestOutcome(m, IngestOutcome.State.NEW, bytes);
        } finally {
            spool.delete();
        }
    }

    /**
     * The run's owner, when tenancy is on: a run belongs to the tenant whose upload created it.
     * Checked before any work, so that another tenant's checkpoint is refused before anything is
     * stored; a run that has steps but no owner (made while tenancy was off) is nobody's to take.
     */
    private void requireOwner(Path dir, String run, String tenant) throws IOException {
        requireOwner(run, tenant, String.valueOf(dir));
    }

    /**
     * The same check on a run name alone, before any file arrives (the ingest service calls it on
     * an upload's header, so another tenant's upload is refused before it streams).
     */
    public void requireOwner(String run, String tenant, String where) throws IOException {
        Layout.requireName(run, "run");
        Optional<byte[]> owner = store.read(Layout.runOwner(run));
        if (owner.isPresent()) {
            if (!new String(owner.get(), StandardCharsets.UTF_8).equals(tenant)) throw notOwner(where, run, tenant);
        } else if (!store.list(Layout.runSteps(run)).isEmpty()) {
            throw new RunOwnershipException("run '" + run + "' was made while tenancy was off and has no owner; tenant '" + tenant
                    + "' cannot add checkpoints to it (" + where + ")");
        }
    }

    /**
     * Claims the run for the tenant with a conditional write (first writer wins, atomically on the
     * S3 server), just before committing: two tenants starting the same run name at once cannot both
     * own it. The claim stays if the commit then fails: it is a whole fact, not half an object.
     */
    private void claimRun(Path dir, String run, String tenant) throws IOException {
        String key = Layout.runOwner(run);
        if (store.putIfAbsent(key, tenant.getBytes(StandardCharsets.UTF_8), "text/plain")) return;
        Optional<byte[]> owner = store.read(key);
        if (owner.isEmpty() || !new String(owner.get(), StandardCharsets.UTF_8).equals(tenant)) throw notOwner(String.valueOf(dir), run, tenant);
    }

    private static RunOwnershipException notOwner(String where, String run, String tenant) {
        return new RunOwnershipException("run '" + run + "' belongs to another tenant; tenant '" + tenant
                + "' cannot add checkpoints to it (" + where + ")");
    }

    /** Uploads missing blobs, then the manifest, then the index; undoes its own objects on failure. */
    private long commit(Spool spool, CheckpointManifest m, String manifestKey, String indexKey) throws IOException {
        List<String> created = new ArrayList<>();
        long bytes = 0;
        try {
            for (Map.Entry<String, Blob> e : spool.blobs().entrySet()) {
                bytes += upload(e.getValue(), spool.files().get(e.getKey()), created);
            }
            if (spool.probe() != null) bytes += upload(spool.probe(), spool.probeFile(), created);
            store.put(manifestKey, m.toJson(), "application/json");
            created.add(manifestKey);
            if (indexKey != null) store.put(indexKey, m.id().getBytes(StandardCharsets.UTF_8), "text/plain");
            return bytes;
        } catch (IOException | RuntimeException e) {
            for (String k : created) {
                try {
                    store.delete(k);
                } catch (IOException suppressed) {
                    e.addSuppressed(suppressed);
                }
            }
            throw e;
        }
    }

    private long upload(Blob b, Path file, List<String> created) throws IOException {
        if (store.exists(b.key())) return 0; // content-addressed: already there
        store.put(b.key(), file, "application/octet-stream");
        created.add(b.key());
        return b.bytes();
    }

    static String checkpointId(String run, long step, String method, String baseId, JsonNode config, Spool spool) {
        MessageDigest md = sha256();
        StringBuilder sb = new StringBuilder();
        sb.append("entangle-checkpoint-v1\n").append(run).append('\n').append(step).append('\n').append(method).append('\n')
                .append(baseId == null ? "" : baseId).append('\n').append(config == null ? "" : canonical(config)).append('\n');
        spool.blobs().forEach((name, b) -> sb.append(name).append('=').append(b.sha256()).append('\n'));
        if (spool.probe() != null) sb.append("probe=").append(spool.probe().sha256()).append('\n');
        return HexFormat.of().formatHex(md.digest(sb.toString().getBytes(StandardCharsets.UTF_8)));
    }

    /** JSON with object keys sorted, so the id does not depend on key order. */
    private static String canonical(JsonNode n) {
        if (n.isObject()) {
            StringBuilder sb = new StringBuilder("{");
            new TreeMap<String, JsonNode>(n.properties().stream().collect(java.util.stream.Collectors.toMap(Map.Entry::getKey, Map.Entry::getValue)))
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

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String sha256(Path file) throws IOException {
        MessageDigest md = sha256();
        try (var in = new java.security.DigestInputStream(Files.newInputStream(file), md)) {
            in.transferTo(OutputStream.nullOutputStream());
        }
        return HexFormat.of().formatHex(md.digest());
    }
}
