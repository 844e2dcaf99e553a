package dev.entangle.core.profile;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.entangle.core.attention.AttentionProbe;
import dev.entangle.core.model.ProbeSink;
import dev.entangle.core.safetensors.DType;
import dev.entangle.core.safetensors.SafetensorsWriter;
import dev.entangle.core.safetensors.ShardedSafetensors;
import dev.entangle.core.safetensors.TensorSource;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A forward pass's captures written into a private temporary folder as they are made, one
 * safetensors shard per decoder layer ({@code layers.{i}.safetensors}, the sequence in
 * {@code tokens.safetensors}), and then read as one sharded probe through {@link #INDEX}, whose
 * {@code metadata} is the probe's {@code __metadata__}: the whole probe of a 1B model at T = 1024
 * (16 × [32, 1024, 1024] attention weights) never sits in the heap, and {@link AttentionProbe}
 * reads it as it reads {@code attention_probe.safetensors}. Closing it removes the folder.
 */
public final class ProbeFolder implements ProbeSink, AutoCloseable {

    /** The index that makes the shards one probe. */
    public static final String INDEX = "attention_probe.safetensors.index.json";
    private static final String TOKENS = "tokens.safetensors";

    private final Path dir;
    private final ObjectNode weightMap = ProfileJson.newObject();
    private Map<String, String> metadata;
    private AttentionProbe.Geometry geometry;

    private ProbeFolder(Path dir) {
        this.dir = dir;
    }

    /**
     * A new folder for one forward pass's captures, under {@code parent} (null: the system's
     * temporary folder). Its name carries this process's id ({@code forward-PID-…}), so that a
     * folder whose process died mid-pass can be told from one in use ({@link #removeAbandoned}).
     */
    public static ProbeFolder temporary(Path parent) {
        String prefix = FOLDER_PREFIX + ProcessHandle.current().pid() + "-";
        try {
            if (parent != null) Files.createDirectories(parent);
            return new ProbeFolder(parent == null ? Files.createTempDirectory("entangle-" + prefix) : Files.createTempDirectory(parent, prefix));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot make a folder for the forward pass's probe: " + e.getMessage(), e);
        }
    }

    private static final String FOLDER_PREFIX = "forward-";
    private static final Pattern FOLDER = Pattern.compile(Pattern.quote(FOLDER_PREFIX) + "(\\d+)-.*");

    /**
     * Removes the pass folders under {@code parent} whose process is no longer running (a
     * profiler killed mid-forward leaves its captures so far); folders of live processes, such as
     * another replica's on the same work folder, are left alone. Returns the folders removed.
     */
    public static List<Path> removeAbandoned(Path parent) {
        if (!Files.isDirectory(parent)) return List.of();
        List<Path> removed = new ArrayList<>();
        try (var entries = Files.list(parent)) {
            for (Path d : entries.toList()) {
                Matcher m = FOLDER.matcher(d.getFileName().toString());
                if (!m.matches() || !Files.isDirectory(d)) continue;
                long pid = Long.parseLong(m.group(1));
                if (ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) continue;
                new ProbeFolder(d).close();
                removed.add(d);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + parent + " for abandoned forward passes: " + e.getMessage(), e);
        }
        return removed;
    }

    @Override
    public void start(AttentionProbe.Geometry g, int[] inputIds, long[] positions) {
        geometry = g;
        metadata = AttentionProbe.metadata(g);
        double[] ids = new double[inputIds.length];
        double[] pos = new double[positions.length];
        for (int i = 0; i < ids.length; i++) ids[i] = inputIds[i];
        for (int i = 0; i < pos.length; i++) pos[i] = positions[i];
        write(TOKENS, new SafetensorsWriter()
                .add(AttentionProbe.INPUT_IDS, DType.I64, new long[]{1, ids.length}, ids)
                .add(AttentionProbe.POSITION_IDS, DType.I64, new long[]{1, pos.length}, pos),
                AttentionProbe.INPUT_IDS, AttentionProbe.POSITION_IDS);
    }

    @Override
    public void layer(LayerCapture c) {
        int t = geometry.tokens();
        long qw = (long) geometry.heads() * geometry.headDim();
        long kvw = (long) geometry.kvHeads() * geometry.headDim();
        String q = AttentionProbe.qRaw(c.layer()), k = AttentionProbe.kRaw(c.layer());
        String a = AttentionProbe.attnWeights(c.layer()), o = AttentionProbe.attnOutput(c.layer());
        write("layers." + c.layer() + ".safetensors", new SafetensorsWriter()
                .add(q, new long[]{t, qw}, c.qRaw())
                .add(k, new long[]{t, kvw}, c.kRaw())
                .add(a, new long[]{geometry.heads(), t, t}, c.attnWeights())
                .add(o, new long[]{t, qw}, c.attnOutput()), q, k, a, o);
    }

    private void write(String shard, SafetensorsWriter w, String... names) {
        try {
            w.write(dir.resolve(shard));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the forward pass's probe into " + dir + ": " + e.getMessage(), e);
        }
        for (String n : names) weightMap.put(n, shard);
    }

    /** The probe's {@code __metadata__} (its attention geometry), once the forward pass has started. */
    public Map<String, String> metadata() {
        requireRun();
        return Map.copyOf(metadata);
    }

    /** Each shard file the forward pass wrote, with the tensors it holds. */
    public Map<Path, List<String>> shards() {
        requireRun();
        Map<Path, List<String>> out = new TreeMap<>();
        weightMap.properties().forEach(e -> out.computeIfAbsent(dir.resolve(e.getValue().asText()), k -> new ArrayList<>()).add(e.getKey()));
        return out;
    }

    private void requireRun() {
        if (metadata == null) throw new IllegalStateException("no forward pass has run into " + dir);
    }

    /** Removes the folder and every shard in it. */
    @Override
    public void close() {
        try (var paths = Files.walk(dir)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot remove the forward pass's probe folder " + dir + ": " + e.getMessage(), e);
        }
    }

    /** The probe, once the forward pass has run: its index written, its shards opened. */
    public TensorSource open() {
        requireRun();
        ObjectNode index = ProfileJson.newObject();
        ObjectNode md = index.putObject("metadata");
        metadata.forEach(md::put);
        index.set("weight_map", weightMap);
        Path target = dir.resolve(INDEX);
        try {
            Path tmp = Files.createTempFile(dir, "." + INDEX, ".tmp");
            Files.writeString(tmp, index.toString());
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + target + ": " + e.getMessage(), e);
        }
        return ShardedSafetensors.open(target);
    }
}
