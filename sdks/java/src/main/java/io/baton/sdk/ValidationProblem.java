package io.baton.sdk;

/**
 * One problem the server found in a workflow definition.
 *
 * @param path JSON path of the offending value, for example {@code $.tasks[2].name}
 * @param message what is wrong there
 */
public record ValidationProblem(String path, String message) {}
