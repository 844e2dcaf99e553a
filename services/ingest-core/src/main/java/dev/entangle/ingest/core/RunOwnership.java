package dev.entangle.ingest.core;

import dev.entangle.store.Layout;
import dev.entangle.store.ObjectStore;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

/**
 * Who owns a run when tenancy is on: the tenant whose ingest created it, recorded at
 * {@link Layout#runOwner}. A run that has steps but no owner (made while tenancy was off) is
 * nobody's to take.
 */
public final class RunOwnership {

    private final ObjectStore store;

    public RunOwnership(ObjectStore store) {
        this.store = store;
    }

    /**
     * Refuses (RunOwnershipException) a tenant's checkpoint for a run another tenant owns, or an
     * unowned run that already has steps; {@code where} names the upload in the message.
     */
    public void require(String run, String tenant, String where) throws IOException {
        Layout.requireName(run, "run");
        Optional<byte[]> owner = store.read(Layout.runOwner(run));
        if (owner.isPresent()) {
            if (!new String(owner.get(), StandardCharsets.UTF_8).equals(tenant)) throw notOwner(where, run, tenant);
        } else if (!store.list(Layout.runSteps(run)).isEmpty()) {
            throw new RunOwnershipException("run '" + run + "' was made while tenancy was off and has no owner; tenant '" + tenant
                    + "' cannot add checkpoints to it (" + where + ")");
        }
    }

    /**
     * Claims the run for the tenant with a conditional write (first writer wins, atomically on the
     * S3 server), just before committing: two tenants starting the same run name at once cannot both
     * own it. The claim stays if the commit then fails: it is a whole fact, not half an object.
     */
    void claim(String run, String tenant, String where) throws IOException {
        String key = Layout.runOwner(run);
        if (store.putIfAbsent(key, tenant.getBytes(StandardCharsets.UTF_8), "text/plain")) return;
        Optional<byte[]> owner = store.read(key);
        if (owner.isEmpty() || !new String(owner.get(), StandardCharsets.UTF_8).equals(tenant)) throw notOwner(where, run, tenant);
    }

    private static RunOwnershipException notOwner(String where, String run, String tenant) {
        return new RunOwnershipException("run '" + run + "' belongs to another tenant; tenant '" + tenant
                + "' cannot add checkpoints to it (" + where + ")");
    }
}
