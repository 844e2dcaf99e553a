package dev.entangle.core.profile;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.entangle.core.profile.CutEntropy;
import dev.entangle.core.profile.EntanglementProfile;

import java.util.List;
import java.util.Map;

/**
 * The JSON shape of profiles, the oracle's shape plus extra fields:
 * {@code {"shape":[rows,cols], "sites":[...], "profile":[{"cut","dL","dR","S","S2",...}]}}.
 * One place for the field names, so the CLI and the services write the same documents
 * (as text through {@link dev.entangle.core.json.JsonTree#write}).
 */
public final class ProfileJson {

    public static final String LOG = "natural";
    public static final String RESHAPE = "row-major, prime factors of rows then columns, each sorted ascending";

    private ProfileJson() {}

    public static ObjectNode newObject() { return JsonNodeFactory.instance.objectNode(); }

    /** One matrix's profile. */
    public static ObjectNode profile(EntanglementProfile p) {
        ObjectNode o = newObject();
        o.putArray("shape").add(p.rows()).add(p.cols());
        ArrayNode sites = o.putArray("sites");
        for (int s : p.sites()) sites.add(s);
        if (p.rowColumnCut() > 0) o.put("row_column_cut", p.rowColumnCut());
        if (p.chiMax() != null) o.put("chi_max", p.chiMax());
        ArrayNode cuts = o.putArray("profile");
        for (CutEntropy c : p.cuts()) cuts.add(cut(c, p.chiMax() != null));
        return o;
    }

    static ObjectNode cut(CutEntropy c, boolean truncated) {
        ObjectNode o = newObject();
        o.put("cut", c.cut());
        o.put("dL", c.dL());
        o.put("dR", c.dR());
        o.put("S", c.entropy());
        for (Map.Entry<String, Double> e : c.renyi().entrySet()) o.put(e.getKey(), e.getValue());
        o.put("S_over_ln_chi", c.normalised());
        o.put("bond_dim", c.bondDimension());
        if (truncated) o.put("discarded_weight", c.discardedWeight());
        if (c.spectrum() != null) {
            ArrayNode s = o.putArray("spectrum");
            for (double x : c.spectrum()) s.add(x);
        }
        return o;
    }

    /** Scalar extras beside the cuts, under their keys; counts as integers. */
    public static void extras(ObjectNode o, Map<Extra, Double> extras) {
        extras.forEach((e, v) -> {
            if (e.integral()) o.put(e.key(), Math.round(v));
            else o.put(e.key(), v);
        });
    }

    public static void warnings(ObjectNode o, List<String> warnings) {
        if (warnings.isEmpty()) return;
        ArrayNode a = o.putArray("warnings");
        warnings.forEach(a::add);
    }
}
