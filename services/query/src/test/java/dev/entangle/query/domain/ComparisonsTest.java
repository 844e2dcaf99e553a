package dev.entangle.query.domain;

import dev.entangle.proto.events.v1.CutProfile;
import dev.entangle.proto.events.v1.Hyperparameters;
import dev.entangle.proto.events.v1.Method;
import dev.entangle.proto.events.v1.Profile;
import dev.entangle.proto.events.v1.ProfileComputed;
import dev.entangle.proto.events.v1.UnitKind;
import dev.entangle.proto.query.v1.LayerNoHair;
import dev.entangle.proto.query.v1.RunComparison;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ComparisonsTest {

    /** A profile with the given S per cut; dL = 2^cut over 6 sites, row/column cut 3. */
    static Profile profile(String name, double... s) {
        Profile.Builder b = Profile.newBuilder().setName(name).addShape(8).addShape(8).setRowColumnCut(3);
        for (int i = 0; i < s.length; i++) {
            long dl = 1L << (i + 1);
            b.addCuts(CutProfile.newBuilder().setCut(i + 1).setDLeft(dl).setDRight(64 / dl).setEntropy(s[i])
                    .setNormalised(s[i] / Math.log(Math.min(dl, 64 / dl))));
        }
        return b.build();
    }

    static ProfileComputed result(String run, long step, Profile... ps) {
        return ProfileComputed.newBuilder().setRun(run).setStep(step).setMethod(Method.LORA).setKind(UnitKind.DELTA)
                .setTarget(ps[0].getName()).setUnitCount(2).setHyper(Hyperparameters.newBuilder().setR(4)).addAllProfiles(List.of(ps)).build();
    }

    @Test
    void metricsReadTheValley() {
        Profile p = profile("layers.0.q_proj", 0.6, 1.2, 0.9, 1.3, 0.6);
        assertEquals(0.9, ProfileMetrics.rowColumnS(p), 1e-15);
        assertEquals((1.2 + 1.3) / 2 - 0.9, ProfileMetrics.valleyDepth(p), 1e-15);
        assertEquals(0.9, ProfileMetrics.midS(p), 1e-15);
        RunComparison c = Comparisons.run("a", new ProfileView.Entry(result("a", 1, p), p), x -> List.of());
        assertTrue(c.getFound());
        assertEquals(Math.log(4), c.getBaselines().getLnR(), 1e-15);
        assertTrue(c.getValleyDepth() > 0);
        assertFalse(Comparisons.run("b", null, x -> List.of()).getFound());
    }

    @Test
    void viewReplacesRedeliveredResultsAndTracksProgress() {
        ProfileView v = new ProfileView();
        Profile p1 = profile("layers.0.q_proj", 0.6, 1.2, 0.9, 1.3, 0.6);
        v.apply(result("a", 30, p1));
        v.apply(result("a", 30, p1)); // redelivery
        assertEquals(1, v.run("a").orElseThrow().unitsDone(30));
        assertEquals(2, v.run("a").orElseThrow().unitsTotal(30));
        Profile p2 = profile("layers.0.q_proj", 0.5, 1.0, 0.8, 1.1, 0.5);
        v.apply(result("a", 150, p2));
        assertEquals(p2, v.profile("a", null, "layers.0.q_proj").orElseThrow().profile());
        assertEquals(p1, v.profile("a", 30L, "layers.0.q_proj").orElseThrow().profile());
        assertEquals(List.of(30L, 150L), v.run("a").orElseThrow().steps());
    }

    @Test
    void noHairComparesInternalAndExternalSpread() {
        Profile qa = profile("layers.0.q_proj", 0.6, 1.2, 0.9, 1.3, 0.6);
        Profile qb = profile("layers.0.q_proj", 0.7, 1.6, 1.9, 1.7, 0.8);
        Profile ha = profile("layers.0.head.0", 0.4, 0.8, 1.0, 0.8, 0.4);
        Profile hb = profile("layers.0.head.0", 0.41, 0.79, 1.01, 0.8, 0.4);
        Map<String, ProfileView.Entry> a = Map.of(qa.getName(), new ProfileView.Entry(result("a", 1, qa), qa),
                ha.getName(), new ProfileView.Entry(result("a", 1, ha), ha));
        Map<String, ProfileView.Entry> b = Map.of(qb.getName(), new ProfileView.Entry(result("b", 1, qb), qb),
                hb.getName(), new ProfileView.Entry(result("b", 1, hb), hb));
        List<LayerNoHair> l = Comparisons.noHair(List.of(a, b));
        assertEquals(1, l.size());
        assertTrue(l.getFirst().getRatio() > 10, "internal profiles differ far more than external: " + l.getFirst());
    }
}
