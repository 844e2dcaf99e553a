package dev.entangle.core.delta;

import dev.entangle.core.checkpoint.Checkpoint;
import dev.entangle.core.checkpoint.CheckpointKind;
import com.fasterxml.jackson.databind.JsonNode;
import dev.entangle.core.profile.CutEntropy;
import dev.entangle.core.profile.EntanglementProfile;
import dev.entangle.core.profile.ProfileCalculator;
import dev.entangle.core.profile.ProfileOptions;
import dev.entangle.core.engine.Engines;
import dev.entangle.core.testing.Fixtures;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

/** Every ΔW profile of every fixture checkpoint against the independent float64 oracle: ≤ 1e-6 nats. */
class DeltaOracleTest {

    static final double TOL = 1e-6;
    /** Every engine must reproduce the oracle. */
    @TestFactory
    Stream<DynamicTest> deltasMatchOracle() {
        return Engines.available().stream().flatMap(engine -> {
            ProfileCalculator calc = new ProfileCalculator(Engines.named(engine));
            return Fixtures.checkpoints().stream().map(ckpt ->
                    DynamicTest.dynamicTest(engine + " " + Fixtures.label(ckpt), () -> check(calc, ckpt)));
        });
    }

    private static void check(ProfileCalculator calc, Path dir) {
        JsonNode oracle = Fixtures.oracle(dir).get("deltas");
        try (Checkpoint ckpt = Checkpoint.open(dir);
             Checkpoint base = ckpt.kind() == CheckpointKind.FULL_MODEL ? Checkpoint.open(Fixtures.base()) : null) {
            List<DeltaMatrix> deltas = DeltaAssembler.deltas(ckpt, base, DeltaAssembler.DEFAULT_MODULES);
            List<String> keys = new ArrayList<>();
            oracle.fieldNames().forEachRemaining(keys::add);
            assertEquals(keys, deltas.stream().map(DeltaMatrix::key).toList(), "ΔW keys");
            for (DeltaMatrix d : deltas) {
                JsonNode o = oracle.get(d.key());
                assertNotNull(o, d.key());
                assertEquals(o.get("shape").get(0).intValue(), d.rows());
                assertEquals(o.get("shape").get(1).intValue(), d.cols());
                EntanglementProfile p = calc.profile(d, ProfileOptions.DEFAULT);
                int[] sites = new int[o.get("sites").size()];
                for (int i = 0; i < sites.length; i++) sites[i] = o.get("sites").get(i).intValue();
                assertArrayEquals(sites, p.sites(), d.key() + " sites");
                JsonNode prof = o.get("profile");
                assertEquals(prof.size(), p.cuts().size());
                for (int i = 0; i < prof.size(); i++) {
                    JsonNode oc = prof.get(i);
                    CutEntropy c = p.cuts().get(i);
                    String where = Fixtures.label(dir) + " " + d.key() + " cut " + c.cut();
                    assertEquals(oc.get("cut").intValue(), c.cut(), where);
                    assertEquals(oc.get("dL").longValue(), c.dL(), where);
                    assertEquals(oc.get("dR").longValue(), c.dR(), where);
                    assertEquals(oc.get("S").doubleValue(), c.entropy(), TOL, where + " S");
                    assertEquals(oc.get("S2").doubleValue(), c.renyi("S2"), TOL, where + " S2");
                }
            }
        }
    }
}
