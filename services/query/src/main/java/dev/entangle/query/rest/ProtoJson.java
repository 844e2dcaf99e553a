package dev.entangle.query.rest;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageOrBuilder;
import com.google.protobuf.util.JsonFormat;

/**
 * The dashboard's JSON is the query API's own messages in protobuf's JSON mapping (lowerCamelCase
 * fields, enums by name, int64 as strings, NaN as "NaN"): one schema for gRPC and HTTP, the
 * proto files. Fields at their default are written too, so a cut's S of 0 is a 0, not a gap.
 */
final class ProtoJson {

    private static final JsonFormat.Printer PRINTER = JsonFormat.printer().alwaysPrintFieldsWithNoPresence().omittingInsignificantWhitespace();

    private ProtoJson() {}

    static String print(MessageOrBuilder m) {
        try {
            return PRINTER.print(m);
        } catch (InvalidProtocolBufferException e) {
            // only Any fields with unknown types fail to print, and the query API has none
            throw new IllegalStateException("cannot print " + m.getClass().getSimpleName() + " as JSON", e);
        }
    }
}
