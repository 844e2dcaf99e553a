package dev.entangle.ingest.domain;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * The object-store folders whose checkpoints the ingest service takes from events
 * ({@code entangle.ingest.watch.sources}), each {@code BUCKET[/PREFIX][;tenant=TENANT][;base=BASE]}:
 * a bucket, an optional key prefix, under tenancy the tenant that owns every run found there,
 * and the registered base model its full fine-tuning and DoRA checkpoints are measured against
 * (object-store notifications carry none; a checkpoint event may name its own). A key belongs to
 * the source with the longest matching prefix; checkpoint folders lie below the prefix, one per
 * {@code RUN/checkpoint-N/} (or {@code RUN/} for a final save).
 */
public final class WatchedSources {

    /** One watched folder. {@code prefix} is "" or ends with '/'; tenant and base may be null. */
    public record Source(String bucket, String prefix, String tenant, String base) {
        public String shownAs() { return "s3://" + bucket + "/" + prefix; }
    }

    private final List<Source> sources;

    private WatchedSources(List<Source> sources) {
        this.sources = sources.stream().sorted(Comparator.comparingInt((Source s) -> s.prefix().length()).reversed()).toList();
    }

    /** Parses the setting's entries; a malformed entry is a configuration error (IllegalArgumentException, at start-up). */
    public static WatchedSources parse(List<String> entries) {
        List<Source> out = new ArrayList<>();
        for (String raw : entries) {
            String e = raw.trim();
            if (e.isEmpty()) continue;
            String[] parts = e.split(";");
            String loc = parts[0].trim();
            while (loc.startsWith("/")) loc = loc.substring(1);
            int slash = loc.indexOf('/');
            String bucket = slash < 0 ? loc : loc.substring(0, slash);
            String prefix = slash < 0 ? "" : loc.substring(slash + 1);
            if (!prefix.isEmpty() && !prefix.endsWith("/")) prefix += "/";
            if (bucket.isEmpty()) throw new IllegalArgumentException("entangle.ingest.watch.sources: '" + raw + "' names no bucket");
            String tenant = null;
            String base = null;
            for (int i = 1; i < parts.length; i++) {
                String[] kv = parts[i].trim().split("=", 2);
                if (kv.length != 2 || kv[1].isBlank()) {
                    throw new IllegalArgumentException("entangle.ingest.watch.sources: '" + parts[i] + "' in '" + raw + "' is not KEY=VALUE");
                }
                switch (kv[0].trim()) {
                    case "tenant" -> tenant = kv[1].trim();
                    case "base" -> base = kv[1].trim();
                    default -> throw new IllegalArgumentException("entangle.ingest.watch.sources: unknown key '" + kv[0].trim()
                            + "' in '" + raw + "' (tenant, base)");
                }
            }
            out.add(new Source(bucket, prefix, tenant, base));
        }
        return new WatchedSources(out);
    }

    public List<Source> all() { return sources; }

    public boolean watchesBucket(String bucket) {
        return sources.stream().anyMatch(s -> s.bucket().equals(bucket));
    }

    /** The source a key (or a folder's prefix) lies under, the longest prefix first. */
    public Optional<Source> sourceOf(String bucket, String key) {
        return sources.stream().filter(s -> s.bucket().equals(bucket) && key.startsWith(s.prefix())).findFirst();
    }

    /** What an object-store notification of a created object means. */
    public sealed interface Verdict permits Skip, Register, Refuse {}

    /** Part of a checkpoint still being written, or of no interest: acknowledged, nothing done. */
    public record Skip(String why) implements Verdict {}

    /** The completion marker of the checkpoint folder {@code prefix} (ending with '/') landed. */
    public record Register(Source source, String prefix) implements Verdict {}

    /** A bad event: dead-lettered with this reason. */
    public record Refuse(String reason) implements Verdict {}

    /**
     * The verdict on a created object {@code key} in {@code bucket}: the marker file
     * ({@code marker}) of a folder below a watched prefix registers that folder; any other file
     * there is skipped; an unknown bucket, or a key outside any checkpoint folder, is refused.
     */
    public Verdict onCreated(String bucket, String key, String marker) {
        if (!watchesBucket(bucket)) {
            return new Refuse("unknown bucket '" + bucket + "': not among the watched sources " + names()
                    + " (entangle.ingest.watch.sources)");
        }
        Optional<Source> src = sourceOf(bucket, key);
        if (src.isEmpty()) {
            return new Refuse("key outside any checkpoint: s3://" + bucket + "/" + key + " is under no watched prefix of " + names());
        }
        String rel = key.substring(src.get().prefix().length());
        int slash = rel.lastIndexOf('/');
        if (slash <= 0) {
            return new Refuse("key outside any checkpoint: s3://" + bucket + "/" + key + " lies directly under the watched prefix "
                    + src.get().shownAs() + ", not in a checkpoint folder (RUN/checkpoint-N/)");
        }
        String file = rel.substring(slash + 1);
        if (!file.equals(marker)) return new Skip("not the completion marker " + marker);
        return new Register(src.get(), src.get().prefix() + rel.substring(0, slash + 1));
    }

    private List<String> names() {
        return sources.stream().map(Source::shownAs).toList();
    }
}
