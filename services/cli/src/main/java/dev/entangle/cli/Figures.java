package dev.entangle.cli;

import dev.entangle.core.profile.Target;
import dev.entangle.proto.events.v1.CutProfile;
import dev.entangle.proto.events.v1.Profile;
import dev.entangle.proto.query.v1.CompareRequest;
import dev.entangle.proto.query.v1.CompareResponse;
import dev.entangle.proto.query.v1.GetProfileRequest;
import dev.entangle.proto.query.v1.Metric;
import dev.entangle.proto.query.v1.QueryGrpc;
import dev.entangle.proto.query.v1.RunComparison;
import dev.entangle.proto.query.v1.StepSelector;
import dev.entangle.proto.query.v1.SweepAxis;
import dev.entangle.proto.query.v1.SweepPoint;
import dev.entangle.proto.query.v1.SweepRequest;
import dev.entangle.proto.query.v1.TimelinePoint;
import dev.entangle.proto.query.v1.TimelineRequest;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.chart.ChartFactory;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;
import org.jfree.svg.SVGGraphics2D;
import org.jfree.svg.SVGUtils;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Rectangle;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Paper-style figures from the query API, each written as SVG and PNG: profiles of runs side by
 * side with the Page curve and the ln r caps (paper Fig. 1, 5–6), normalised attention profiles
 * per head (Fig. 13–15), timelines against training step (Fig. 3–4, 9) and sweeps over a
 * hyper-parameter (Fig. 5, 7, 19).
 */
final class Figures {

    static final int WIDTH = 900;
    static final int HEIGHT = 560;
    private static final Color[] PALETTE = {new Color(0x1f77b4), new Color(0xd62728), new Color(0x2ca02c), new Color(0x9467bd),
            new Color(0xff7f0e), new Color(0x8c564b), new Color(0xe377c2), new Color(0x17becf)};

    private final QueryGrpc.QueryBlockingStub query;
    private final Path out;

    Figures(QueryGrpc.QueryBlockingStub query, Path out) {
        this.query = query;
        this.out = out;
    }

    /** S per cut for each run, with the Page curve of the shape and each adapter's ln r. */
    List<Path> profiles(List<String> runs, String target) throws IOException {
        CompareResponse cmp = query.compare(CompareRequest.newBuilder().addAllRuns(runs).setTarget(target)
                .setStep(StepSelector.newBuilder().setLatest(true)).build());
        XYSeriesCollection data = new XYSeriesCollection();
        List<Boolean> dashed = new ArrayList<>();
        List<double[]> page = new ArrayList<>();
        Set<Double> caps = new LinkedHashSet<>();
        for (RunComparison rc : cmp.getRunsList()) {
            if (!rc.getFound()) continue;
            XYSeries s = new XYSeries(rc.getRun() + " @" + rc.getStep());
            for (CutProfile c : rc.getProfile().getCutsList()) s.add(c.getCut(), c.getEntropy());
            data.addSeries(s);
            dashed.add(false);
            if (page.isEmpty()) for (int k = 0; k < rc.getBaselines().getPageCount(); k++) page.add(new double[]{k + 1, rc.getBaselines().getPage(k)});
            if (rc.getBaselines().getLnR() > 0) caps.add(rc.getBaselines().getLnR());
        }
        if (data.getSeriesCount() == 0) throw new IllegalStateException("no profile of " + target + " for " + runs + " yet");
        if (!page.isEmpty()) {
            XYSeries s = new XYSeries("Page (Haar random)");
            for (double[] p : page) s.add(p[0], p[1]);
            data.addSeries(s);
            dashed.add(true);
        }
        int cuts = page.isEmpty() ? data.getSeries(0).getItemCount() : page.size();
        for (double cap : caps) {
            XYSeries s = new XYSeries(String.format(Locale.ROOT, "ln r = %.2f (r = %d)", cap, Math.round(Math.exp(cap))));
            s.add(1, cap);
            s.add(cuts, cap);
            data.addSeries(s);
            dashed.add(true);
        }
        return write("profiles-" + target, chart("Entanglement profile of " + target, "cut k (first k sites | rest)", "S (nats)", data, dashed));
    }

    /** S / ln χ per cut for every head of a layer (and XXᵀ), for one run's latest step. */
    List<Path> attentionHeads(String run, int layer) throws IOException {
        XYSeriesCollection data = new XYSeriesCollection();
        List<Boolean> dashed = new ArrayList<>();
        for (int h = 0; ; h++) {
            Profile p = profile(run, Target.head(layer, h).key());
            if (p == null) break;
            data.addSeries(normalised("head " + h, p));
            dashed.add(false);
        }
        if (data.getSeriesCount() == 0) throw new IllegalStateException("no attention profiles of layer " + layer + " for run " + run + " yet");
        Profile xxt = profile(run, Target.output(layer).key());
        if (xxt != null) {
            data.addSeries(normalised("X Xᵀ (output)", xxt));
            dashed.add(true);
        }
        return write("attention-" + run + "-layer" + layer,
                chart("Normalised attention profiles, layer " + layer + " (" + run + ")", "cut k", "S / ln χ", data, dashed));
    }

    /** A profile metric against training step for each run. */
    List<Path> timeline(List<String> runs, String target, Metric metric) throws IOException {
        XYSeriesCollection data = new XYSeriesCollection();
        List<Boolean> dashed = new ArrayList<>();
        for (String run : runs) {
            List<TimelinePoint> pts = query.timeline(TimelineRequest.newBuilder().setRun(run).setTarget(target).setMetric(metric).build()).getPointsList();
            if (pts.isEmpty()) continue;
            XYSeries s = new XYSeries(run);
            for (TimelinePoint p : pts) s.add(p.getStep(), p.getValue());
            data.addSeries(s);
            dashed.add(false);
        }
        if (data.getSeriesCount() == 0) throw new IllegalStateException("no timeline of " + metric + " for " + runs);
        String name = metric.name().toLowerCase(Locale.ROOT);
        String label = metric == Metric.MID_S ? "mid-cut S (nats)" : name.replace('_', ' ');
        return write("timeline-" + name + "-" + target, chart(label + " of " + target + " against training step", "step", label, data, dashed));
    }

    /** Mid-cut S and valley depth against a hyper-parameter (alpha | r | lr | chi). */
    List<Path> sweep(List<String> runs, String target, SweepAxis axis) throws IOException {
        String by = axis.name().toLowerCase(Locale.ROOT);
        List<SweepPoint> pts = new ArrayList<>(query.sweep(SweepRequest.newBuilder().addAllRuns(runs).setTarget(target).setBy(axis)
                .setStep(StepSelector.newBuilder().setLatest(true)).build()).getPointsList());
        pts.removeIf(p -> Double.isNaN(p.getX()));
        if (pts.isEmpty()) throw new IllegalStateException("no run among " + runs + " has " + by);
        pts.sort(java.util.Comparator.comparingDouble(SweepPoint::getX));
        XYSeries mid = new XYSeries("mid-cut S");
        XYSeries valley = new XYSeries("valley depth");
        for (SweepPoint p : pts) {
            mid.addOrUpdate(p.getX(), p.getMidS());
            valley.addOrUpdate(p.getX(), p.getValleyDepth());
        }
        XYSeriesCollection data = new XYSeriesCollection();
        data.addSeries(mid);
        data.addSeries(valley);
        return write("sweep-" + by + "-" + target, chart("Sweep over " + by + ", " + target, by, "nats", data, List.of(false, false)));
    }

    private Profile profile(String run, String target) {
        try {
            return query.getProfile(GetProfileRequest.newBuilder().setRun(run).setTarget(target)
                    .setStep(StepSelector.newBuilder().setLatest(true)).build()).getProfile();
        } catch (StatusRuntimeException e) {
            if (e.getStatus().getCode() == Status.Code.NOT_FOUND) return null;
            throw e;
        }
    }

    private static XYSeries normalised(String name, Profile p) {
        XYSeries s = new XYSeries(name);
        for (CutProfile c : p.getCutsList()) s.add(c.getCut(), c.getNormalised());
        return s;
    }

    private static JFreeChart chart(String title, String x, String y, XYSeriesCollection data, List<Boolean> dashed) {
        JFreeChart chart = ChartFactory.createXYLineChart(title, x, y, data, PlotOrientation.VERTICAL, true, false, false);
        chart.setBackgroundPaint(Color.WHITE);
        XYPlot plot = chart.getXYPlot();
        plot.setBackgroundPaint(Color.WHITE);
        plot.setDomainGridlinePaint(new Color(0xdddddd));
        plot.setRangeGridlinePaint(new Color(0xdddddd));
        ((NumberAxis) plot.getDomainAxis()).setAutoRangeIncludesZero(false);
        XYLineAndShapeRenderer r = new XYLineAndShapeRenderer(true, true);
        int solid = 0;
        for (int i = 0; i < data.getSeriesCount(); i++) {
            if (dashed.get(i)) {
                r.setSeriesPaint(i, data.getSeries(i).getKey().toString().startsWith("ln r") ? Color.DARK_GRAY : Color.GRAY);
                r.setSeriesStroke(i, new BasicStroke(1.6f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f, new float[]{6f, 4f}, 0f));
                r.setSeriesShapesVisible(i, false);
            } else {
                r.setSeriesPaint(i, PALETTE[solid++ % PALETTE.length]);
                r.setSeriesStroke(i, new BasicStroke(2f));
            }
        }
        plot.setRenderer(r);
        return chart;
    }

    private List<Path> write(String name, JFreeChart chart) throws IOException {
        Files.createDirectories(out);
        String safe = name.replaceAll("[^A-Za-z0-9._-]", "_");
        Path svg = out.resolve(safe + ".svg");
        Path png = out.resolve(safe + ".png");
        SVGGraphics2D g = new SVGGraphics2D(WIDTH, HEIGHT);
        chart.draw(g, new Rectangle(0, 0, WIDTH, HEIGHT));
        SVGUtils.writeToSVG(svg.toFile(), g.getSVGElement());
        ChartUtils.saveChartAsPNG(png.toFile(), chart, WIDTH, HEIGHT);
        return List.of(svg, png);
    }
}
