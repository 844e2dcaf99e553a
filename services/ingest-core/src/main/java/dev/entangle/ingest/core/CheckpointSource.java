package dev.entangle.ingest.core;

import java.util.ArrayList;
import java.util.List;

/**
 * Where a checkpoint folder is, as its owner names it — what every refusal shows and where run
 * and step come from when nothing else names them; the service's private copy of it (an upload's
 * spool folder, objects downloaded for a registration) is never shown.
 *
 * @param shownAs      the folder as the user knows it: a path on their machine, or
 *                     {@code s3://bucket/prefix} (no trailing slash)
 * @param folder       the folder's own name (HF Trainer: {@code checkpoint-N}), or null
 * @param outputFolder the folder above it (HF Trainer's output_dir: the run), or null when the
 *                     folder sits at the top of what the user named
 */
public record CheckpointSource(String shownAs, String folder, String outputFolder) {

    /** A folder on the user's machine, by its path (absolute where the client knows it). */
    public static CheckpointSource ofPath(String path) {
        List<String> seg = segments(path.replace('\\', '/'));
        return new CheckpointSource(path, last(seg, 0), last(seg, 1));
    }

    /** A folder the user gave no name for (a client that sent none): shown as {@code shownAs}, its names unknown. */
    public static CheckpointSource unnamed(String shownAs) {
        return new CheckpointSource(shownAs, null, null);
    }

    /** Objects under {@code prefix} of {@code bucket}; names above {@code root} (a watched prefix) are not the run's. */
    public static CheckpointSource ofObjects(String bucket, String prefix, String root) {
        String p = strip(prefix);
        List<String> seg = segments(p);
        List<String> rootSeg = segments(strip(root == null ? "" : root));
        int inside = seg.size() - rootSeg.size();
        return new CheckpointSource("s3://" + bucket + "/" + p, inside >= 1 ? last(seg, 0) : null, inside >= 2 ? last(seg, 1) : null);
    }

    private static String strip(String p) {
        String s = p;
        while (s.endsWith("/")) s = s.substring(0, s.length() - 1);
        while (s.startsWith("/")) s = s.substring(1);
        return s;
    }

    private static List<String> segments(String p) {
        List<String> out = new ArrayList<>();
        for (String s : p.split("/")) if (!s.isEmpty() && !s.equals(".")) out.add(s);
        return out;
    }

    private static String last(List<String> seg, int back) {
        int i = seg.size() - 1 - back;
        return i >= 0 ? seg.get(i) : null;
    }
}
