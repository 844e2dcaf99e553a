package dev.entangle.ingest.domain;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import dev.entangle.core.CheckpointException;
import dev.entangle.ingest.config.IngestConfig;
import dev.entangle.ingest.core.CheckpointSource;
import dev.entangle.ingest.core.IngestRequest;
import dev.entangle.proto.events.v1.CheckpointSaved;
import dev.entangle.proto.ingest.v1.IngestResult;
import dev.entangle.security.TenantAccess;
import dev.entangle.store.Layout;
import io.micrometer.core.instrument.MeterRegistry;
import jakarta.annotation.PostConstruct;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.jboss.logging.Logger;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;

/**
 * Checkpoints that arrive by event, no client needed: an object-store notification whose key is a
 * watched folder's completion marker ({@code entangle.ingest.watch.marker}, default HF Trainer's
 * {@code trainer_state.json}, written after the weights), or a training job's
 * {@code CheckpointSaved}. Either way the folder is registered as the Register RPC does
 * ({@link ObjectStoreFolders}) once every file it needs is there: while some are missing (a
 * parallel upload can land the marker before a shard) it looks again with exponential backoff,
 * and gives up after {@code give-up-after} with the reason. Duplicates, replays and out-of-order
 * delivery are no-ops: the same folder is the same checkpoint id, stored and announced once.
 * Under tenancy the watched source names the run's owner; an event for a source without one is
 * refused. Refusals (IllegalArgumentException, CheckpointException, RunOwnershipException) go to
 * the dead-letter topic with the reason.
 */
@ApplicationScoped
public class CheckpointWatch {

    private static final Logger LOG = Logger.getLogger(CheckpointWatch.class);

    @Inject
    ObjectStoreFolders folders;

    @Inject
    IngestConfig config;

    @Inject
    TenantAccess tenancy;

    @Inject
    MeterRegistry registry;

    WatchedSources sources;

    @PostConstruct
    void init() {
        sources = WatchedSources.parse(config.ingest().watch().sources().orElse(List.of()));
        if (sources.all().isEmpty()) LOG.info("no watched sources (entangle.ingest.watch.sources): every object-store or checkpoint event is refused");
        else LOG.infof("watching %s for %s", sources.all().stream().map(WatchedSources.Source::shownAs).toList(), config.ingest().watch().marker());
    }

    /** One object-store notification (topic object-store-events). */
    public void onNotification(byte[] payload) throws IOException, InterruptedException {
        for (ObjectStoreEvents.Record r : ObjectStoreEvents.parse(payload)) {
            if (!r.created()) continue;   // removals, reads, tagging: nothing to ingest
            switch (sources.onCreated(r.bucket(), r.key(), config.ingest().watch().marker())) {
                case WatchedSources.Skip s -> { }
                case WatchedSources.Refuse f -> throw refused("notification", f.reason());
                case WatchedSources.Register g -> {
                    IngestRequest req = new IngestRequest(null, null, g.source().base(), null, null, null, null,
                            CheckpointSource.ofObjects(r.bucket(), g.prefix(), g.source().prefix()));
                    register(g.source(), g.prefix(), req, "notification");
                }
            }
        }
    }

    /** One training job's CheckpointSaved (topic checkpoints-saved), protobuf or JSON. */
    public void onCheckpointSaved(byte[] payload) throws IOException, InterruptedException {
        CheckpointSaved ev = parseSaved(payload);
        if (ev.getBucket().isBlank() || ev.getPrefix().isBlank()) throw refused("checkpoint event", "needs bucket and prefix, got " + shortText(ev));
        String prefix = ObjectStoreFolders.folderPrefix(ev.getPrefix());
        if (!sources.watchesBucket(ev.getBucket())) {
            throw refused("checkpoint event", "unknown bucket '" + ev.getBucket() + "': not among the watched sources (entangle.ingest.watch.sources)");
        }
        WatchedSources.Source src = sources.sourceOf(ev.getBucket(), prefix).orElseThrow(() -> refused("checkpoint event",
                "s3://" + ev.getBucket() + "/" + prefix + " is under no watched prefix (entangle.ingest.watch.sources)"));
        IngestRequest req = new IngestRequest(ev.getRun().isBlank() ? null : Layout.requireName(ev.getRun(), "run"),
                ev.hasStep() ? ev.getStep() : null, ev.getBase().isBlank() ? src.base() : ev.getBase(),
                ev.hasLearningRate() ? ev.getLearningRate() : null, ev.hasTrainLoss() ? ev.getTrainLoss() : null,
                ev.hasTestLoss() ? ev.getTestLoss() : null, null, CheckpointSource.ofObjects(ev.getBucket(), prefix, src.prefix()));
        register(src, prefix, req, "checkpoint event");
    }

    private IngestResult register(WatchedSources.Source src, String prefix, IngestRequest req, String what) throws IOException, InterruptedException {
        if (tenancy.enabled()) {
            if (src.tenant() == null) {
                throw refused(what, "unmapped: tenancy is on and the watched source " + src.shownAs()
                        + " names no tenant (entangle.ingest.watch.sources: ...;tenant=NAME) to own s3://" + src.bucket() + "/" + prefix);
            }
            req = req.withTenant(src.tenant());
        }
        awaitWhole(src.bucket(), prefix);
        IngestResult r = folders.register(src.bucket(), prefix, req, null);
        registry.counter("entangle_ingest_watch_total", "via", what.replace(' ', '-'), "state", r.getState().name().toLowerCase(Locale.ROOT)).increment();
        LOG.infof("%s: s3://%s/%s is %s run %s step %d (%s)", what, src.bucket(), prefix, r.getCheckpointId(), r.getRun(), r.getStep(), r.getState());
        return r;
    }

    /**
     * Waits until the folder holds every file it needs, looking again with exponential backoff;
     * gives up (CheckpointException "checkpoint incomplete", naming what is missing) after
     * {@code give-up-after}. Object-store outages count as missing, and end as an I/O error.
     */
    void awaitWhole(String bucket, String prefix) throws IOException, InterruptedException {
        IngestConfig.Watch w = config.ingest().watch();
        long start = System.nanoTime();
        long deadline = start + w.giveUpAfter().toNanos();
        Duration backoff = w.firstBackoff();
        for (int attempt = 1; ; attempt++) {
            List<String> missing;
            IOException outage = null;
            try {
                missing = folders.missing(folders.list(bucket, prefix));
            } catch (IOException e) {
                missing = null;
                outage = e;
            }
            if (missing != null && missing.isEmpty()) return;
            if (System.nanoTime() + backoff.toNanos() > deadline) {
                double s = (System.nanoTime() - start) / 1e9;
                if (outage != null) throw new IOException("gave up on s3://" + bucket + "/" + prefix + " after " + attempt + " attempts: " + outage.getMessage(), outage);
                throw new CheckpointException(null, null, "checkpoint incomplete", String.format(Locale.ROOT,
                        "the completion marker landed, but after %d looks over %.1f s the folder still lacks %s", attempt, s, String.join(", ", missing)))
                        .shownAs(Path.of("/"), "s3://" + bucket + "/" + prefix.substring(0, prefix.length() - 1));
            }
            registry.counter("entangle_ingest_watch_retries_total").increment();
            LOG.infof("s3://%s/%s not whole yet (%s); looking again in %s", bucket, prefix, outage != null ? outage.getMessage() : "missing " + missing, backoff);
            Thread.sleep(backoff.toMillis());
            Duration next = backoff.multipliedBy(2);
            backoff = next.compareTo(w.maxBackoff()) > 0 ? w.maxBackoff() : next;
        }
    }

    /** Protobuf bytes, or the message as proto3 JSON (an object: the first non-blank byte is '{'). */
    static CheckpointSaved parseSaved(byte[] payload) {
        int i = 0;
        while (i < payload.length && Character.isWhitespace(payload[i])) i++;
        if (i < payload.length && payload[i] == '{') {
            CheckpointSaved.Builder b = CheckpointSaved.newBuilder();
            try {
                JsonFormat.parser().merge(new String(payload, StandardCharsets.UTF_8), b);
            } catch (InvalidProtocolBufferException e) {
                throw new IllegalArgumentException("checkpoint event: not a CheckpointSaved in JSON: " + firstLine(e.getMessage()));
            }
            return b.build();
        }
        try {
            return CheckpointSaved.parseFrom(payload);
        } catch (InvalidProtocolBufferException e) {
            throw new IllegalArgumentException("checkpoint event: neither JSON nor a CheckpointSaved protobuf: " + firstLine(e.getMessage()));
        }
    }

    private static IllegalArgumentException refused(String what, String reason) {
        return new IllegalArgumentException(what + ": " + reason);
    }

    private static String shortText(CheckpointSaved ev) {
        String t = ev.toString().replace('\n', ' ').trim();
        return t.isEmpty() ? "an empty event" : t;
    }

    private static String firstLine(String s) {
        return s == null ? "" : s.lines().findFirst().orElse("");
    }
}
