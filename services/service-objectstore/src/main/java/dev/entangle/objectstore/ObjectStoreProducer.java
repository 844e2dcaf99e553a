package dev.entangle.objectstore;

import dev.entangle.store.ObjectStore;
import dev.entangle.store.S3ObjectStore;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Produces;

/** The services' object store, built from {@link ObjectStoreSettings}. */
@ApplicationScoped
public class ObjectStoreProducer {

    @Produces
    @ApplicationScoped
    ObjectStore objectStore(ObjectStoreSettings settings) {
        return new S3ObjectStore(settings.s3Config());
    }
}
