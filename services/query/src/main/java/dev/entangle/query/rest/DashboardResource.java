package dev.entangle.query.rest;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.ProtocolMessageEnum;
import dev.entangle.core.profile.Target;
import dev.entangle.proto.query.v1.Metric;
import dev.entangle.proto.query.v1.SweepAxis;
import dev.entangle.query.domain.ProfileView;
import dev.entangle.query.domain.QueryAnswers;
import dev.entangle.security.TenantAccess;
import io.smallrye.mutiny.Multi;
import io.vertx.ext.web.RoutingContext;
import jakarta.inject.Inject;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.sse.OutboundSseEvent;
import jakarta.ws.rs.sse.Sse;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The dashboard's JSON endpoints: the query API's answers ({@link QueryAnswers}) over HTTP, each
 * as the JSON of the gRPC response it equals, and the live stream of the caller's runs as
 * Server-Sent Events. Behind the same token, client-certificate and tenant rules as gRPC (the
 * HTTP filters of service-security); the caller's tenant comes from the request.
 */
@Path("/api")
@Produces(MediaType.APPLICATION_JSON)
public class DashboardResource {

    /** How often the live stream says it is alive (a client gone is noticed at the next write). */
    static final Duration KEEP_ALIVE = Duration.ofSeconds(15);

    @Inject
    QueryAnswers answers;

    @Inject
    TenantAccess tenancy;

    @Inject
    RoutingContext request;

    @Inject
    ObjectMapper json;

    @GET
    @Path("runs")
    public String runs() {
        return ProtoJson.print(answers.runs(caller()));
    }

    /** The names of a run's profiles at a step (latest when not given), for the figures' pickers. */
    @GET
    @Path("runs/{run}/targets")
    public String targets(@PathParam("run") String run, @QueryParam("step") String step) {
        Map.Entry<Long, Map<String, ProfileView.Entry>> at = answers.profilesAt(caller(), run, step(step));
        ObjectNode o = json.createObjectNode().put("run", run).put("step", at.getKey());
        at.getValue().keySet().forEach(o.putArray("targets")::add);
        return o.toString();
    }

    /** Every profile of a run at a step, or of one layer (the attention figure: its heads and XXᵀ together). */
    @GET
    @Path("runs/{run}/profiles")
    public String profiles(@PathParam("run") String run, @QueryParam("step") String step, @QueryParam("layer") Integer layer) {
        Map.Entry<Long, Map<String, ProfileView.Entry>> at = answers.profilesAt(caller(), run, step(step));
        ObjectNode o = json.createObjectNode().put("run", run).put("step", at.getKey());
        ObjectNode profiles = o.putObject("profiles");
        for (Map.Entry<String, ProfileView.Entry> e : at.getValue().entrySet()) {
            if (layer != null && Target.tryParse(e.getKey()).map(t -> t.layer() != layer).orElse(true)) continue;
            profiles.set(e.getKey(), tree(ProtoJson.print(e.getValue().profile())));
        }
        return o.toString();
    }

    @GET
    @Path("profile")
    public String profile(@QueryParam("run") String run, @QueryParam("step") String step, @QueryParam("target") String target,
                          @QueryParam("spectra") boolean spectra) {
        return ProtoJson.print(answers.profile(caller(), required("run", run), step(step), required("target", target), spectra));
    }

    @GET
    @Path("compare")
    public String compare(@QueryParam("run") List<String> runs, @QueryParam("target") String target, @QueryParam("step") String step) {
        return ProtoJson.print(answers.compare(caller(), runs(runs), required("target", target), step(step)));
    }

    @GET
    @Path("no-hair")
    public String noHair(@QueryParam("run") List<String> runs, @QueryParam("step") String step) {
        return ProtoJson.print(answers.noHair(caller(), runs(runs), step(step)));
    }

    @GET
    @Path("timeline")
    public String timeline(@QueryParam("run") String run, @QueryParam("target") String target, @QueryParam("metric") String metric) {
        return ProtoJson.print(answers.timeline(caller(), required("run", run), required("target", target),
                named(Metric.class, "metric", required("metric", metric))));
    }

    @GET
    @Path("sweep")
    public String sweep(@QueryParam("run") List<String> runs, @QueryParam("target") String target, @QueryParam("by") String by,
                        @QueryParam("step") String step) {
        return ProtoJson.print(answers.sweep(caller(), runs(runs), required("target", target),
                named(SweepAxis.class, "by", required("by", by)), step(step)));
    }

    /** The Marchenko–Pastur density of a dL × dR cut (the spectrum figure's baseline), from the theory service. */
    @GET
    @Path("theory/marchenko-pastur")
    public String marchenkoPastur(@QueryParam("dLeft") long dLeft, @QueryParam("dRight") long dRight, @QueryParam("points") Integer points) {
        caller();   // the rules hold on every endpoint, though this one names no run
        return ProtoJson.print(answers.marchenkoPastur(dLeft, dRight, points == null ? 0 : points));
    }

    /**
     * The caller's runs, live: a "runs" event with all of them, then a "run" event with a run's
     * summary (its progress) after every result that lands in it, and a comment every
     * {@link #KEEP_ALIVE}. The same view WatchRun streams.
     */
    @GET
    @Path("events")
    @Produces(MediaType.SERVER_SENT_EVENTS)
    public Multi<OutboundSseEvent> events(@Context Sse sse) {
        String caller = caller();
        Multi<OutboundSseEvent> updates = Multi.createFrom().emitter(em -> em.onTermination(answers.watchRuns(caller,
                all -> em.emit(event(sse, "runs", ProtoJson.print(all))),
                run -> em.emit(event(sse, "run", ProtoJson.print(run))))));
        Multi<OutboundSseEvent> alive = Multi.createFrom().ticks().every(KEEP_ALIVE).map(t -> sse.newEventBuilder().comment("alive").build());
        return Multi.createBy().merging().streams(updates, alive);
    }

    private static OutboundSseEvent event(Sse sse, String name, String data) {
        return sse.newEventBuilder().name(name).data(data).build();
    }

    private String caller() {
        return tenancy.caller(request);
    }

    private com.fasterxml.jackson.databind.JsonNode tree(String s) {
        try {
            return json.readTree(s);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String required(String name, String value) {
        if (value == null || value.isBlank()) throw new IllegalArgumentException("the query parameter '" + name + "' is required");
        return value;
    }

    /** run=a&run=b, or run=a,b. */
    static List<String> runs(List<String> given) {
        List<String> out = new ArrayList<>();
        for (String g : given) for (String r : g.split(",")) if (!r.isBlank()) out.add(r.strip());
        if (out.isEmpty()) throw new IllegalArgumentException("the query parameter 'run' is required (one or more runs)");
        return out;
    }

    /** A step, or null for none given / "latest". */
    static Long step(String step) {
        if (step == null || step.isBlank() || step.equals("latest")) return null;
        try {
            return Long.parseLong(step);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("step must be a number or 'latest', not '" + step + "'");
        }
    }

    /** A proto enum by its name in lower case (metric=mid_s, by=alpha). */
    static <E extends Enum<E> & ProtocolMessageEnum> E named(Class<E> type, String parameter, String value) {
        List<E> known = Arrays.stream(type.getEnumConstants())
                .filter(e -> !e.name().equals("UNRECOGNIZED") && e.getNumber() != 0).toList();
        for (E e : known) if (e.name().equalsIgnoreCase(value)) return e;
        throw new IllegalArgumentException(parameter + " must be one of " + known.stream().map(e -> e.name().toLowerCase(Locale.ROOT))
                .collect(Collectors.joining(", ")) + ", not '" + value + "'");
    }
}
