package dev.entangle.core.engine;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;

/**
 * A file copied out of the jar into a cache folder that is loaded only as the bytes the build
 * recorded (their SHA-256): a shared object of the OpenBLAS engine in the user's cache.
 *
 * <p>A copy is written beside its name and moved into place atomically, so that a half-written
 * file is never under the name. A file found under the name is trusted once its digest has
 * matched; what was checked is noted beside it ({@code NAME.verified}: the digest and the
 * file's identity, i.e. device and inode, size, modification and change times). A later start
 * trusts the file while that identity holds and reads nothing of it: writing the file changes its
 * change time (which no user can set back) and replacing it changes its inode, and either makes
 * the next start digest it again. This takes the place of inflating the jar's 40 MB and comparing
 * them byte by byte at every start.
 */
final class CachedCopy {

    private static final LinkOption[] NO_FOLLOW = {LinkOption.NOFOLLOW_LINKS};

    private final Path file;
    private final Path stamp;
    private final String digest;

    /** The copy at {@code file} that must have the SHA-256 {@code digest} (lower-case hex). */
    CachedCopy(Path file, String digest) {
        this.file = file;
        this.stamp = file.resolveSibling(file.getFileName() + ".verified");
        this.digest = digest;
    }

    /**
     * Whether the file under the name has the recorded digest: from its note while its identity
     * is the one noted, else by digesting it (and noting it when it matches).
     */
    boolean verified() throws IOException {
        String id = identity();
        if (id == null) return false;
        String noted = digest + " " + id;
        if (Files.isRegularFile(stamp, NO_FOLLOW) && noted.equals(Files.readString(stamp, StandardCharsets.US_ASCII))) return true;
        if (!digest.equals(sha256(file))) return false;
        if (!id.equals(identity())) return false;   // changed while it was read: not the bytes digested
        note(id);
        return true;
    }

    /**
     * Writes {@code in} under the name: into a temporary sibling, checked against the recorded
     * digest (a jar whose bytes are not the build's is refused), then moved into place atomically.
     */
    void replaceFrom(InputStream in) throws IOException {
        Path tmp = Files.createTempFile(file.getParent(), file.getFileName().toString(), ".part");
        try {
            MessageDigest md = sha256();
            try (OutputStream out = new DigestOutputStream(Files.newOutputStream(tmp), md)) {
                in.transferTo(out);
            }
            String got = HexFormat.of().formatHex(md.digest());
            if (!got.equals(digest)) {
                throw new IllegalStateException("the jar's " + file.getFileName() + " has SHA-256 " + got + ", not the " + digest + " its build recorded");
            }
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
        String id = identity();
        if (id != null) note(id);
    }

    /** For a copy in a temporary folder: the file and its note go when the process ends. */
    void deleteOnExit() {
        stamp.toFile().deleteOnExit();
        file.toFile().deleteOnExit();
    }

    /** Device and inode, size, modification and change times of a regular file; null when there is none (or no such view). */
    private String identity() throws IOException {
        if (!Files.isRegularFile(file, NO_FOLLOW)) return null;
        try {
            Map<String, Object> a = Files.readAttributes(file, "unix:dev,ino,size,lastModifiedTime,ctime", NO_FOLLOW);
            return a.get("dev") + ":" + a.get("ino") + " " + a.get("size") + " " + a.get("lastModifiedTime") + " " + a.get("ctime");
        } catch (UnsupportedOperationException | IllegalArgumentException noUnixView) {
            return null;   // nothing to note a check by: the copy is written afresh each time
        }
    }

    /** Notes a check, atomically as well: a half-written note matches nothing. */
    private void note(String id) throws IOException {
        Path tmp = Files.createTempFile(file.getParent(), stamp.getFileName().toString(), ".part");
        try {
            Files.writeString(tmp, digest + " " + id, StandardCharsets.US_ASCII);
            Files.move(tmp, stamp, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    static String sha256(Path p) throws IOException {
        MessageDigest md = sha256();
        try (InputStream in = Files.newInputStream(p, NO_FOLLOW)) {
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) > 0; ) md.update(buf, 0, n);
        }
        return HexFormat.of().formatHex(md.digest());
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }
}
