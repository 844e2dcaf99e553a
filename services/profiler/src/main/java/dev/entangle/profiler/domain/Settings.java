package dev.entangle.profiler.domain;

import dev.entangle.core.profile.ProfileOptions;
import dev.entangle.proto.events.v1.AnalysisSettings;

import java.util.Locale;

/** Analysis settings: their options for analysis-core and their readable key (part of a result's identity). */
public final class Settings {

    private Settings() {}

    public static ProfileOptions options(AnalysisSettings s) {
        double[] renyi = s.getRenyiCount() == 0 ? new double[]{2} : s.getRenyiList().stream().mapToDouble(Double::doubleValue).toArray();
        return new ProfileOptions(renyi, s.hasChiMax() ? s.getChiMax() : null, s.getSpectra());
    }

    /** e.g. "exact_renyi-2" or "chi32_renyi-2-3_spectra_unmasked": stable, and a valid object-key segment. */
    public static String key(AnalysisSettings s) {
        StringBuilder sb = new StringBuilder(s.hasChiMax() ? "chi" + s.getChiMax() : "exact").append("_renyi");
        double[] renyi = options(s).renyiOrders();
        for (double a : renyi) {
            sb.append('-').append(a == Math.rint(a) && !Double.isInfinite(a) ? String.valueOf((long) a)
                    : String.valueOf(a).toLowerCase(Locale.ROOT));
        }
        if (s.getSpectra()) sb.append("_spectra");
        if (s.getUnmasked()) sb.append("_unmasked");
        return sb.toString();
    }
}
