package dev.entangle.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.google.protobuf.util.JsonFormat;
import dev.entangle.core.testing.Fixtures;
import dev.entangle.proto.query.v1.CompareRequest;
import dev.entangle.proto.query.v1.CompareResponse;
import dev.entangle.proto.query.v1.Metric;
import dev.entangle.proto.query.v1.SweepAxis;
import dev.entangle.proto.query.v1.SweepRequest;
import dev.entangle.proto.query.v1.TimelineRequest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;

import javax.imageio.ImageIO;
import javax.xml.parsers.DocumentBuilderFactory;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code compare} and {@code plot} against a query service that answers with the fixtures' oracle:
 * the table carries the oracle's entropies and caps, the figures are valid SVG and PNG with one
 * series per run plus the Page and ln r lines, and the CLI asks for what its flags say.
 */
class CompareAndPlotCommandTest {

    @TempDir
    Path dir;
    FakeQuery query;

    @BeforeEach
    void start() throws Exception {
        query = new FakeQuery();
    }

    @AfterEach
    void stop() throws Exception {
        query.close();
    }

    @Test
    void compareTabulatesTheOracleEntropiesCutByCut() {
        ProfileCommandTest.Run r = ProfileCommandTest.run("compare", "--runs", "lora-r16-a16,fft-lr1e-4", "--query", query.endpoint());
        assertEquals(0, r.code(), r.err());
        CompareRequest req = (CompareRequest) query.requests.getFirst();
        assertEquals(List.of("lora-r16-a16", "fft-lr1e-4"), req.getRunsList());
        assertEquals("q_proj", req.getModule());
        assertEquals(0, req.getLayer());
        assertTrue(req.getStep().getLatest(), "latest step by default");
        List<String> lines = r.out().lines().toList();
        JsonNode lora = Fixtures.oracle(FakeQuery.fixture("lora-r16-a16")).get("deltas").get("layers.0.q_proj").get("profile");
        JsonNode fft = Fixtures.oracle(FakeQuery.fixture("fft-lr1e-4")).get("deltas").get("layers.0.q_proj").get("profile");
        for (int k = 0; k < lora.size(); k++) {
            String cut = String.format(Locale.ROOT, "%4d %8d %8d", k + 1, lora.get(k).get("dL").longValue(), lora.get(k).get("dR").longValue());
            String row = lines.stream().filter(l -> l.startsWith(cut)).findFirst().orElseThrow(() -> new AssertionError("no row for " + cut + " in\n" + r.out()));
            String[] cells = row.substring(cut.length()).trim().split("\\s+");
            assertEquals(lora.get(k).get("S").doubleValue(), Double.parseDouble(cells[0].replace("*", "")), 1e-6, "LoRA cut " + (k + 1));
            assertEquals(fft.get(k).get("S").doubleValue(), Double.parseDouble(cells[1].replace("*", "")), 1e-6, "FFT cut " + (k + 1));
            assertEquals(k + 1 == 8, cells[0].endsWith("*"), "the row/column cut (dL = 256) is marked: cut " + (k + 1));
        }
        String loraSummary = lines.stream().filter(l -> l.startsWith("lora-r16-a16 ")).findFirst().orElseThrow();
        assertTrue(loraSummary.contains(String.format(Locale.ROOT, "%.4f", Math.log(16))), "ln 16 for the LoRA run: " + loraSummary);
        String fftSummary = lines.stream().filter(l -> l.startsWith("fft-lr1e-4 ")).findFirst().orElseThrow();
        assertTrue(fftSummary.split("\\s+")[2].equals("-"), "no rank cap for FFT: " + fftSummary);
    }

    @Test
    void compareJsonIsTheServicesAnswer() throws Exception {
        ProfileCommandTest.Run r = ProfileCommandTest.run("compare", "--runs", "lora-r16-a16,nobody", "--target", "layers.1.head.3",
                "--step", "150", "--json", "--query", query.endpoint());
        assertEquals(0, r.code(), r.err());
        CompareRequest req = (CompareRequest) query.requests.getFirst();
        assertEquals("layers.1.head.3", req.getTarget());
        assertEquals(150, req.getStep().getStep());
        CompareResponse.Builder parsed = CompareResponse.newBuilder();
        JsonFormat.parser().merge(r.out(), parsed);
        assertTrue(parsed.getRuns(0).getFound());
        assertFalse(parsed.getRuns(1).getFound(), "an unknown run is reported as not found");
        assertEquals(FakeQuery.profile("lora-r16-a16", "layers.1.head.3"), parsed.getRuns(0).getProfile());
    }

    @Test
    void plotWritesValidFiguresOfEveryKind() throws Exception {
        Path out = dir.resolve("figures");
        ProfileCommandTest.Run r = ProfileCommandTest.run("plot", "--runs", "lora-r16-a16,lora-r16-a256,fft-lr1e-4", "--sweep-by", "alpha",
                "--out", out.toString(), "--query", query.endpoint());
        assertEquals(0, r.code(), r.err());
        Set<String> files = new TreeSet<>(r.out().lines().map(l -> Path.of(l).getFileName().toString()).toList());
        for (String stem : List.of("profiles-layers.0.q_proj", "attention-lora-r16-a16-layer0", "timeline-mid_s-layers.0.q_proj",
                "sweep-alpha-layers.0.q_proj")) {
            assertTrue(files.contains(stem + ".svg") && files.contains(stem + ".png"), stem + " in " + files);
            DocumentBuilderFactory xml = DocumentBuilderFactory.newInstance();
            xml.setFeature("http://apache.org/xml/features/nonvalidating/load-external-dtd", false);   // no fetch of the SVG DTD
            Document svg = xml.newDocumentBuilder().parse(out.resolve(stem + ".svg").toFile());
            assertEquals("svg", svg.getDocumentElement().getTagName(), stem);
            assertEquals(Figures.WIDTH, Double.parseDouble(svg.getDocumentElement().getAttribute("width")), 0, stem);
            BufferedImage png = ImageIO.read(out.resolve(stem + ".png").toFile());
            assertEquals(Figures.WIDTH, png.getWidth(), stem);
            assertEquals(Figures.HEIGHT, png.getHeight(), stem);
        }
        String profiles = Files.readString(out.resolve("profiles-layers.0.q_proj.svg"));
        for (String series : List.of("lora-r16-a16 @150", "lora-r16-a256 @150", "fft-lr1e-4 @150", "Page (Haar random)", "ln r = 2.77 (r = 16)")) {
            assertTrue(profiles.contains(series), "legend has " + series);
        }
        String attention = Files.readString(out.resolve("attention-lora-r16-a16-layer0.svg"));
        for (int h = 0; h < 8; h++) assertTrue(attention.contains("head " + h), "head " + h + " plotted");
        assertTrue(attention.contains("X Xᵀ (output)"), "the output operator beside the heads");
        assertTrue(query.requests.stream().anyMatch(q -> q instanceof TimelineRequest t && t.getMetric() == Metric.MID_S));
        assertTrue(query.requests.stream().anyMatch(q -> q instanceof SweepRequest s && s.getBy() == SweepAxis.ALPHA
                && s.getRunsList().equals(List.of("lora-r16-a16", "lora-r16-a256", "fft-lr1e-4"))));
    }

    @Test
    void plotRefusesUnknownKindsAndRunsWithoutProfiles() {
        ProfileCommandTest.Run kind = ProfileCommandTest.run("plot", "--runs", "lora-r16-a16", "--figures", "histogram",
                "--out", dir.toString(), "--query", query.endpoint());
        assertEquals(Errors.BAD_INPUT, kind.code());
        assertTrue(kind.err().contains("unknown figure 'histogram'"), kind.err());
        ProfileCommandTest.Run axis = ProfileCommandTest.run("plot", "--runs", "lora-r16-a16", "--figures", "sweep", "--sweep-by", "beta",
                "--out", dir.toString(), "--query", query.endpoint());
        assertEquals(Errors.BAD_INPUT, axis.code());
        assertTrue(axis.err().contains("--sweep-by must be alpha, r, lr or chi"), axis.err());
        ProfileCommandTest.Run none = ProfileCommandTest.run("plot", "--runs", "nobody", "--figures", "profiles",
                "--out", dir.toString(), "--query", query.endpoint());
        assertEquals(Errors.INTERNAL, none.code());
        assertTrue(none.err().contains("no profile of layers.0.q_proj for [nobody] yet"), none.err());
    }
}
