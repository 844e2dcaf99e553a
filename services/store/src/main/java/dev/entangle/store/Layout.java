package dev.entangle.store;

import java.util.regex.Pattern;

/**
 * The one definition of the object layout (content-addressed, documented in services/store/README.md):
 * <pre>
 * blobs/sha256/ab/abcdef…                    immutable blobs: one-tensor safetensors files, probes
 * checkpoints/ID/manifest.json               a checkpoint's manifest: written last, the commit point
 * checkpoints/ID/published                   marker: the CheckpointIngested event was acknowledged
 * checkpoints/ID/forward/SET/probe.json      the checkpoint's forward-pass captures on its base's probe set SET
 * bases/ID/manifest.json                     a registered base model
 * runs/RUN/steps/STEP                        index: the checkpoint id of a run's step
 * profiles/ID/TARGET/SETTINGS/result.json    a profiler result (settings = hash of the analysis settings)
 * profiles/ID/TARGET/SETTINGS/spectra.safetensors
 * theory/monte-carlo/KIND/ROWSxCOLS/r-R_chi-X_n-N_seed-S.pb   a cached Monte-Carlo baseline
 * </pre>
 */
public final class Layout {

    /** Run and model names: letters, digits, '.', '_', '-' (no '/', no "..": they become key segments). */
    public static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");
    private static final Pattern HEX = Pattern.compile("[0-9a-f]{64}");

    private Layout() {}

    public static String blob(String sha256) {
        requireHex(sha256);
        return "blobs/sha256/" + sha256.substring(0, 2) + "/" + sha256;
    }

    public static String checkpointManifest(String checkpointId) {
        return "checkpoints/" + requireHex(checkpointId) + "/manifest.json";
    }

    public static String published(String checkpointId) {
        return "checkpoints/" + requireHex(checkpointId) + "/published";
    }

    /** Where the forward unit records a checkpoint's captures on one probe set ({@code ForwardProbe}). */
    public static String forwardProbe(String checkpointId, String probeSet) {
        return "checkpoints/" + requireHex(checkpointId) + "/forward/" + requireName(probeSet, "probe set") + "/probe.json";
    }

    public static String baseManifest(String baseId) {
        return "bases/" + requireName(baseId, "base model") + "/manifest.json";
    }

    public static String runStep(String run, long step) {
        if (step < 0) throw new IllegalArgumentException("step must be >= 0, got " + step);
        return runSteps(run) + step;
    }

    /** The tenant owning a run (written by its first ingest when tenancy is on). */
    public static String runOwner(String run) {
        return "runs/" + requireName(run, "run") + "/tenant";
    }

    public static String runSteps(String run) {
        return "runs/" + requireName(run, "run") + "/steps/";
    }

    public static String profile(String checkpointId, String target, String settings, String file) {
        return "profiles/" + requireHex(checkpointId) + "/" + requireName(target, "target") + "/"
                + requireName(settings, "settings") + "/" + file;
    }

    /** Cache key of a Monte-Carlo baseline: (kind, shape, r, χ, samples, seed) fix its numbers. */
    public static String monteCarlo(String kind, long rows, long cols, int rank, int chi, int samples, long seed) {
        return "theory/monte-carlo/" + requireName(kind, "kind") + "/" + rows + "x" + cols + "/r-" + rank + "_chi-" + chi
                + "_n-" + samples + "_seed-" + seed + ".pb";
    }

    /** Whether {@code name} may be a run, base or target name ({@link #NAME}, and no ".."). */
    public static boolean isName(String name) {
        return name != null && NAME.matcher(name).matches() && !name.contains("..");
    }

    public static String requireName(String name, String what) {
        if (!isName(name)) {
            throw new IllegalArgumentException(what + " name '" + name
                    + "' must be 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit");
        }
        return name;
    }

    private static String requireHex(String h) {
        if (h == null || !HEX.matcher(h).matches()) throw new IllegalArgumentException("not a sha256 hex id: " + h);
        return h;
    }
}
