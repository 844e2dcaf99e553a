package dev.entangle.profiler.domain;

import dev.entangle.core.profile.CutEntropy;
import dev.entangle.core.profile.EntanglementProfile;
import dev.entangle.core.profile.Extra;
import dev.entangle.proto.events.v1.CutProfile;
import dev.entangle.proto.events.v1.Profile;

import java.util.List;
import java.util.Map;

/** analysis-core profiles as protobuf messages (numbers inline; spectra travel by reference). */
public final class ProfileMessages {

    private ProfileMessages() {}

    public static Profile profile(String name, EntanglementProfile p, Map<Extra, Double> extras, List<String> warnings) {
        Profile.Builder b = Profile.newBuilder().setName(name)
                .addShape(p.rows()).addShape(p.cols()).setRowColumnCut(p.rowColumnCut())
                .putAllExtras(Extra.byKey(extras)).addAllWarnings(warnings);
        for (int s : p.sites()) b.addSites(s);
        for (CutEntropy c : p.cuts()) {
            b.addCuts(CutProfile.newBuilder().setCut(c.cut()).setDLeft(c.dL()).setDRight(c.dR())
                    .setEntropy(c.entropy()).putAllRenyi(c.renyi()).setNormalised(c.normalised())
                    .setBondDim(c.bondDimension()).setDiscardedWeight(c.discardedWeight()));
        }
        return b.build();
    }
}
