package dev.entangle.ingest.domain;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.entangle.core.CheckpointException;
import dev.entangle.core.checkpoint.CheckpointFiles;
import dev.entangle.ingest.config.IngestConfig;
import dev.entangle.ingest.core.CheckpointSource;
import dev.entangle.ingest.core.IngestRequest;
import dev.entangle.ingest.core.ScratchFolder;
import dev.entangle.objectstore.ObjectStoreSettings;
import dev.entangle.proto.ingest.v1.IngestResult;
import dev.entangle.store.ObjectStore;
import dev.entangle.store.S3ObjectStore;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Checkpoint folders a training job wrote to an object store, registered by bucket + prefix —
 * the one path the Register RPC, object-store notifications and checkpoint events share. Only
 * the files analysis reads are fetched ({@link CheckpointFiles#needed}): pickles are listed,
 * never downloaded; the folder is checked whole first (every shard its index names, the adapter
 * and its config).
 */
@ApplicationScoped
public class ObjectStoreFolders {

    /** Stands for the folder in refusals raised from a listing, before anything is downloaded; shown as the user's prefix. */
    private static final Path LISTING = Path.of("/listing");
    private static final JsonMapper JSON = JsonMapper.builder().build();

    @Inject
    IngestPipeline pipeline;

    @Inject
    IngestConfig config;

    @Inject
    ObjectStoreSettings s3;

    private final Map<String, ObjectStore> buckets = new ConcurrentHashMap<>();

    /** A folder's objects: their names relative to the prefix. */
    public record Listing(String bucket, String prefix, List<String> names) {
        public Listing {
            names = List.copyOf(names);
        }

        /** How the user names the folder: s3://bucket/prefix. */
        public String shownAs() { return CheckpointSource.ofObjects(bucket, prefix, "").shownAs(); }
    }

    /** {@code prefix} with exactly one trailing slash (the folder's key prefix), or "" for a bucket's root. */
    public static String folderPrefix(String prefix) {
        if (prefix.isEmpty()) return prefix;
        return prefix.endsWith("/") ? prefix : prefix + "/";
    }

    public ObjectStore bucket(String bucket) {
        return buckets.computeIfAbsent(bucket, b -> new S3ObjectStore(s3.forBucket(b)));
    }

    public Listing list(String bucket, String prefix) throws IOException {
        String p = folderPrefix(prefix);
        List<String> names = new ArrayList<>();
        for (String key : bucket(bucket).list(p)) names.add(key.substring(p.length()));
        return new Listing(bucket, p, names);
    }

    /**
     * What the folder still lacks to be a whole checkpoint (empty: complete); weights kept only as
     * pickles are refused, naming the object. The index, if any, is read from the store.
     */
    public List<String> missing(Listing l) throws IOException {
        try {
            return CheckpointFiles.missing(LISTING, l.names(), name -> {
                try {
                    return JSON.readTree(bucket(l.bucket()).read(l.prefix() + name).orElseThrow(() ->
                            new CheckpointException(LISTING.resolve(name), null, "object vanished", "listed, then gone")));
                } catch (IOException e) {
                    if (e instanceof com.fasterxml.jackson.core.JsonProcessingException j) {
                        throw new CheckpointException(LISTING.resolve(name), null, "index not valid JSON", j.getOriginalMessage());
                    }
                    throw new UncheckedIOException(e);
                }
            });
        } catch (CheckpointException e) {
            throw e.shownAs(LISTING, l.shownAs());
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }

    /**
     * Registers the folder at {@code bucket}/{@code prefix}: refuses an empty or incomplete one,
     * fetches the files analysis reads into a private scratch folder, and ingests them as
     * {@code req} says (its source names the folder in every refusal). {@code baseModelName} set:
     * register a base model instead.
     */
    public IngestResult register(String bucket, String prefix, IngestRequest req, String baseModelName) throws IOException {
        return register(bucket, prefix, req, baseModelName, List.of());
    }

    /** As {@link #register(String, String, IngestRequest, String)}; a base registers with the probe set {@code probeTokens} (when not empty). */
    public IngestResult register(String bucket, String prefix, IngestRequest req, String baseModelName, List<Integer> probeTokens) throws IOException {
        Listing l = list(bucket, prefix);
        if (l.names().isEmpty()) {
            throw new CheckpointException(null, null, "nothing at prefix", "no objects under it").shownAs(LISTING, l.shownAs());
        }
        List<String> missing = missing(l);
        if (!missing.isEmpty()) {
            throw new CheckpointException(null, null, "checkpoint incomplete", "missing " + String.join(", ", missing))
                    .shownAs(LISTING, l.shownAs());
        }
        try (ScratchFolder scratch = ScratchFolder.create(config.ingest().spoolDir(), "register-")) {
            Path dir = scratch.path();
            for (String name : l.names()) {
                if (!CheckpointFiles.needed(name)) continue;   // pickles, tokenizer files, model cards, nested logs stay where they are
                bucket(bucket).download(l.prefix() + name, dir.resolve(name));
            }
            IngestRequest r = req.source() != null ? req : req.withSource(CheckpointSource.ofObjects(bucket, l.prefix(), ""));
            IngestResult result = pipeline.ingest(dir, r, baseModelName, probeTokens);
            return CheckpointFiles.picklesNote(l.names()).map(n -> IngestResult.newBuilder(result).clearNotes().addNotes(n).addAllNotes(result.getNotesList()).build()).orElse(result);
        }
    }
}
