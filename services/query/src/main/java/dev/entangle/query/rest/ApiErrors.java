package dev.entangle.query.rest;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import org.jboss.resteasy.reactive.server.ServerExceptionMapper;

import java.util.Map;

/**
 * The answers' errors (gRPC statuses, the query API's one vocabulary) as HTTP status codes,
 * each with a one-line JSON body {"error": "..."} that the dashboard shows where the figure
 * would be.
 */
public class ApiErrors {

    @ServerExceptionMapper
    public Response status(StatusRuntimeException e) {
        return error(httpStatus(e.getStatus().getCode()), e.getStatus().getDescription() != null ? e.getStatus().getDescription() : e.getStatus().getCode().name());
    }

    /** A request's bad parameter (a metric, an axis, a step that is no number). */
    @ServerExceptionMapper
    public Response badParameter(IllegalArgumentException e) {
        return error(400, e.getMessage());
    }

    static int httpStatus(Status.Code code) {
        return switch (code) {
            case INVALID_ARGUMENT, OUT_OF_RANGE -> 400;
            case UNAUTHENTICATED -> 401;
            case PERMISSION_DENIED -> 403;
            case NOT_FOUND -> 404;
            case FAILED_PRECONDITION, ALREADY_EXISTS, ABORTED -> 409;
            case UNAVAILABLE -> 503;
            case DEADLINE_EXCEEDED -> 504;
            default -> 500;
        };
    }

    static Response error(int status, String message) {
        return Response.status(status).type(MediaType.APPLICATION_JSON).entity(Map.of("error", message)).build();
    }
}
