package dev.entangle.query.domain;

import dev.entangle.proto.events.v1.Hyperparameters;
import dev.entangle.proto.events.v1.Method;
import dev.entangle.proto.events.v1.Metrics;
import dev.entangle.proto.events.v1.Profile;
import dev.entangle.proto.events.v1.ProfileComputed;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * The query side's view of all results, built by applying every {@code ProfileComputed} in
 * topic order (and rebuilt the same way after a restart). A result replaces the one with the
 * same (run, step, profile name): redelivered units never duplicate.
 */
public final class ProfileView {

    /** One stored profile with the result it came in. */
    public record Entry(ProfileComputed result, Profile profile) {}

    /** What is known about one run. */
    public static final class Run {
        public final String name;
        Method method = Method.METHOD_UNSPECIFIED;
        Hyperparameters hyper = Hyperparameters.getDefaultInstance();
        String baseId = "";
        String tenant = "";
        final NavigableMap<Long, Map<String, Entry>> steps = new TreeMap<>();
        final NavigableMap<Long, Metrics> metrics = new TreeMap<>();
        final Map<Long, Set<String>> unitsDone = new HashMap<>();
        final Map<Long, Integer> unitsTotal = new HashMap<>();

        Run(String name) {
            this.name = name;
        }

        public Method method() { return method; }

        public Hyperparameters hyper() { return hyper; }

        public String baseId() { return baseId; }

        /** The tenant owning the run (tenancy on at ingest), else empty. */
        public String tenant() { return tenant; }

        public List<Long> steps() { return new ArrayList<>(steps.keySet()); }

        public Optional<Long> latestStep() { return steps.isEmpty() ? Optional.empty() : Optional.of(steps.lastKey()); }

        public int unitsDone(long step) { return unitsDone.getOrDefault(step, Set.of()).size(); }

        public int unitsTotal(long step) { return unitsTotal.getOrDefault(step, 0); }

        public Optional<Metrics> metrics(long step) { return Optional.ofNullable(metrics.get(step)); }

        public Map<String, Entry> profiles(long step) { return steps.getOrDefault(step, Map.of()); }
    }

    private final Map<String, Run> runs = new TreeMap<>();
    private final List<Consumer<ProfileComputed>> listeners = new CopyOnWriteArrayList<>();

    public synchronized void apply(ProfileComputed r) {
        Run run = runs.computeIfAbsent(r.getRun(), Run::new);
        run.method = r.getMethod();
        if (r.hasHyper()) run.hyper = r.getHyper();
        if (!r.getBaseId().isEmpty()) run.baseId = r.getBaseId();
        // the owner is fixed by the run's first result: ingest lets only the owner add to a run
        if (run.tenant.isEmpty() && !r.getTenant().isEmpty()) run.tenant = r.getTenant();
        if (r.hasMetrics()) run.metrics.put(r.getStep(), r.getMetrics());
        Map<String, Entry> step = run.steps.computeIfAbsent(r.getStep(), s -> new TreeMap<>());
        for (Profile p : r.getProfilesList()) step.put(p.getName(), new Entry(r, p));
        run.unitsDone.computeIfAbsent(r.getStep(), s -> new HashSet<>()).add(r.getKind() + "/" + r.getTarget());
        run.unitsTotal.put(r.getStep(), r.getUnitCount());
        for (Consumer<ProfileComputed> l : listeners) l.accept(r);
    }

    public synchronized Collection<Run> runs() {
        return List.copyOf(runs.values());
    }

    public synchronized Optional<Run> run(String name) {
        return Optional.ofNullable(runs.get(name));
    }

    /** The profile of a run at a step (null step: the latest step that has this profile). */
    public synchronized Optional<Entry> profile(String run, Long step, String name) {
        Run r = runs.get(run);
        if (r == null) return Optional.empty();
        if (step != null) return Optional.ofNullable(r.profiles(step).get(name));
        for (Map<String, Entry> s : r.steps.descendingMap().values()) {
            if (s.containsKey(name)) return Optional.of(s.get(name));
        }
        return Optional.empty();
    }

    /**
     * The runs as they are now, then every update after them, with nothing lost or repeated in
     * between (the dashboard's live list); returns a handle that stops the updates.
     */
    public synchronized Runnable listen(Consumer<Collection<Run>> now, Consumer<ProfileComputed> l) {
        now.accept(List.copyOf(runs.values()));
        return listen(l);
    }

    /** Every update from now on (WatchRun); returns a handle that stops it. */
    public Runnable listen(Consumer<ProfileComputed> l) {
        listeners.add(l);
        return () -> listeners.remove(l);
    }
}
