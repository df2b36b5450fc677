using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Federate.Server.Internal;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;

namespace Federate.Server.Inspector;

/// <summary>
/// The inspector's HTTP surface: the dashboard at <c>/</c>, the JSON API under <c>/api</c>, live updates at
/// <c>/api/events/stream</c> (server-sent events) and the OpenAPI description at <c>/openapi/v1.json</c>. Everything
/// answers only on the inspector's own endpoint; errors are <c>application/problem+json</c>.
/// </summary>
internal static class InspectorEndpoints
{
    private const string Tag = "inspector";
    private const string DemoTag = "inspector-demo";

    /// <summary>
    /// The inspector's Kestrel endpoint on the fleet's address: the one place to add TLS. Plain HTTP/1.1 for now:
    /// browsers speak HTTP/2 only over TLS, so HTTP/2 joins (<see cref="HttpProtocols.Http1AndHttp2"/>) with the certificate.
    /// </summary>
    public static ListenOptions Listen(KestrelServerOptions kestrel, IPAddress address, int port, System.Security.Cryptography.X509Certificates.X509Certificate2? certificate)
    {
        ListenOptions? endpoint = null;
        kestrel.Listen(address, port, listen =>
        {
            // Browsers speak HTTP/2 only over TLS: plain endpoints serve HTTP/1.1, TLS ones both (ALPN).
            listen.Protocols = certificate is null ? HttpProtocols.Http1 : HttpProtocols.Http1AndHttp2;
            if (certificate is not null)
            {
                listen.UseHttps(certificate);
            }

            endpoint = listen;
        });
        return endpoint!;
    }

    /// <summary>
    /// The OpenAPI description (document <see cref="InspectorStateAccessor.OpenApiDocument"/>; demo actions only on a
    /// demo server). With <paramref name="ownApp"/> (the server's own application, not an embedding one) also problem
    /// details for every error and the inspector's JSON conventions for the whole app.
    /// </summary>
    public static void AddServices(IServiceCollection services, InspectorStateAccessor accessor, bool ownApp)
    {
        if (ownApp)
        {
            services.AddProblemDetails();
        }

        services.AddOpenApi(accessor.OpenApiDocument, o =>
        {
            o.ShouldInclude = d => d.GroupName == Tag || (d.GroupName == DemoTag && accessor.State?.Options.Demo == true);
            o.AddDocumentTransformer((document, _, _) =>
            {
                document.Info.Title = "Federate inspector API";
                document.Info.Description = "Runs, nodes, events, privacy ledger, model downloads and operator actions of a Federate server. Errors are application/problem+json; admin actions need 'Authorization: Bearer TOKEN'.";
                return Task.CompletedTask;
            });
        });
        if (ownApp)
        {
            services.ConfigureHttpJsonOptions(o => UseInspectorJson(o.SerializerOptions));
        }
    }

    public static JsonSerializerOptions JsonOptions { get; } = UseInspectorJson(new(JsonSerializerDefaults.Web));

    /// <summary>The inspector's JSON conventions (snake_case, NaN/Infinity allowed, no HTML escaping), for the API and ASP.NET Core alike.</summary>
    private static JsonSerializerOptions UseInspectorJson(JsonSerializerOptions o)
    {
        o.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
        o.NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals;
        o.Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping;
        return o;
    }

    /// <summary>Maps every inspector route; requests reaching another endpoint (the fleet port) get 404.</summary>
    /// <remarks>
    /// Handlers read the state through <paramref name="accessor"/> at request time: the state is created with the
    /// coordinator when the host starts, after the routes are mapped. With <paramref name="inspectorPort"/> every
    /// route answers only on that local port (the multi-port layout of <see cref="FleetServer"/>).
    /// </remarks>
    public static RouteGroupBuilder Map(IEndpointRouteBuilder routes, InspectorStateAccessor accessor, Func<int>? inspectorPort)
    {
        accessor.Mapped = true;
        var root = routes.MapGroup("");
        if (inspectorPort is not null)
        {
            root.AddEndpointFilter(async (context, next) =>
                context.HttpContext.Connection.LocalPort == inspectorPort() ? await next(context).ConfigureAwait(false) : Results.NotFound());
        }

        root.MapOpenApi("/openapi/{documentName}.json");

        // Prometheus scrape endpoint: the Federate meter (federate_* series), see FederateDiagnostics.
        root.MapPrometheusScrapingEndpoint("/metrics");

        // Dashboard (embedded assets; no CDN, works offline).
        root.MapGet("/", () => Asset("index.html", "text/html; charset=utf-8")).ExcludeFromDescription();
        root.MapGet("/app.js", () => Asset("app.js", "text/javascript; charset=utf-8")).ExcludeFromDescription();
        root.MapGet("/app.css", () => Asset("app.css", "text/css; charset=utf-8")).ExcludeFromDescription();

        var api = root.MapGroup("/api").WithGroupName(Tag);

        api.MapGet("/status", () => Results.Json(Status(accessor.State, accessor.State.Insecure), JsonOptions))
            .WithSummary("Server status: run control state, mode, demo, admin requirements.");

        api.MapGet("/runs", () => Results.Json(ListRuns(accessor.State), JsonOptions))
            .WithSummary("Runs of this server (live) and of its state directory.");

        api.MapGet("/runs/{id}", (string id) =>
        {
            if (accessor.State.FindRun(id) is { } run)
            {
                return Results.Json(DescribeRun(accessor.State, run, withRounds: true), JsonOptions);
            }

            if (id != "current" && accessor.State.Store?.History(id) is { } stored)
            {
                var row = accessor.State.Store.GetRun(id);
                var o = new JsonObject
                {
                    ["id"] = id,
                    ["status"] = row?.Status ?? "unknown",
                    ["source"] = "state",
                    ["stop_reason"] = stored.StopReason,
                    ["stop_detail"] = stored.StopDetail,
                    ["rounds_done"] = stored.Rounds.Count,
                    ["rounds"] = new JsonArray([.. stored.Rounds.Select(r => (JsonNode)InspectorState.DescribeRound(r))]),
                };
                return Results.Json(o, JsonOptions);
            }

            return Problem(StatusCodes.Status404NotFound, "Unknown run", id == "current" ? "no run has started yet" : $"no run with id '{id}'; GET /api/runs lists the runs");
        }).WithSummary("One run with its rounds and metrics ('current' for the run in progress).");

        api.MapPost("/runs", (HttpContext http) => Admin(http, accessor.State, accessor.State.Insecure, who =>
        {
            if (accessor.State.Control.RequestStart() is { } conflict)
            {
                return Problem(StatusCodes.Status409Conflict, "Cannot start the run", conflict);
            }

            accessor.State.AddAuditEvent("operator_start", $"{who} started the run (rounds run one after another)");
            return Results.Json(accessor.State.Control.State, JsonOptions, statusCode: StatusCodes.Status202Accepted);
        })).WithSummary("Admin: start the run (manual mode: run the remaining rounds without waiting).").AdminAction();

        api.MapPost("/runs/{id}/rounds", (string id, HttpContext http) => Admin(http, accessor.State, accessor.State.Insecure, who =>
        {
            if (CheckCurrent(accessor.State, id) is { } notCurrent)
            {
                return notCurrent;
            }

            if (accessor.State.Control.RequestRound(out int round) is { } conflict)
            {
                return Problem(StatusCodes.Status409Conflict, "Cannot start a round", conflict);
            }

            accessor.State.AddAuditEvent("operator_round", $"{who} started round {round}");
            return Results.Json(new JsonObject { ["round"] = round }, JsonOptions, statusCode: StatusCodes.Status202Accepted);
        })).WithSummary("Admin: start the next round (manual mode).").AdminAction();

        api.MapPost("/runs/{id}/stop", (string id, HttpContext http) => Admin(http, accessor.State, accessor.State.Insecure, who =>
        {
            if (CheckCurrent(accessor.State, id) is { } notCurrent)
            {
                return notCurrent;
            }

            if (accessor.State.Control.RequestStop(who) is { } conflict)
            {
                return Problem(StatusCodes.Status409Conflict, "Cannot stop the run", conflict);
            }

            accessor.State.AddAuditEvent("operator_stop", $"{who} stopped the run; it ends before its next round");
            return Results.Json(accessor.State.Control.State, JsonOptions, statusCode: StatusCodes.Status202Accepted);
        })).WithSummary("Admin: stop the run (a round in flight completes first).").AdminAction();

        api.MapPost("/reset", (HttpContext http) => Admin(http, accessor.State, accessor.State.Insecure, who =>
        {
            accessor.State.Control.RequestReset(who);
            var notification = new LifecycleNotification(NotificationTypes.RunReset, accessor.State.Current?.Id ?? "", new JsonObject { ["reason"] = $"reset by {who}" });
            accessor.State.Registry.Broadcast(new OutboundNotification(notification));
            accessor.State.AddAuditEvent("operator_reset", $"{who} reset the run; clients were told to reset their model");
            return Results.Json(accessor.State.Control.State, JsonOptions, statusCode: StatusCodes.Status202Accepted);
        })).WithSummary("Admin: end the run and start a new one with a fresh model; clients are told to reset.").AdminAction();

        api.MapGet("/nodes", (HttpContext http) => Private(http, accessor.State, () => Results.Json(new JsonArray([.. accessor.State.Nodes().Select(n => (JsonNode)accessor.State.Describe(n))]), JsonOptions)))
            .WithSummary("Nodes: id, name, status (idle, training, evaluating, late, gone), last heartbeat, rounds done, bytes in and out, last error (admin only on a server with a kit).").AdminAction();

        api.MapGet("/nodes/{id:long}/weights", (long id, HttpContext http) => Admin(http, accessor.State, accessor.State.Insecure, _ =>
        {
            if (accessor.State.Options.SecureAggregation)
            {
                return Problem(StatusCodes.Status403Forbidden, "Individual updates are secret", "secure aggregation is on: the server never reveals an individual client's weights");
            }

            if (!accessor.State.Options.KeepClientWeights)
            {
                return Problem(StatusCodes.Status409Conflict, "Client weights are not kept", "the server does not keep client weights; start it with --keep-client-weights (memory grows with clients x model)");
            }

            if (accessor.State.FindNode(id) is not { } node)
            {
                return Problem(StatusCodes.Status404NotFound, "Unknown node", $"no node with id {id}; GET /api/nodes lists them");
            }

            if (node.LatestWeights is not { } weights)
            {
                return Problem(StatusCodes.Status404NotFound, "No weights yet", $"node {id} has not sent a train update in this run yet");
            }

            var metadata = new Dictionary<string, string>(accessor.State.Options.ModelMetadata) { ["node_id"] = id.ToString(CultureInfo.InvariantCulture), ["round"] = node.LatestWeightsRound?.ToString(CultureInfo.InvariantCulture) ?? "" };
            return Download(http, $"node-{id}-round-{node.LatestWeightsRound}.safetensors", "application/octet-stream", s => Safetensors.Write(s, weights, metadata));
        })).WithSummary("Admin: the latest train update of one client (safetensors; needs --keep-client-weights, refused under secure aggregation).").AdminAction();

        api.MapGet("/model", (HttpContext http) => Private(http, accessor.State, () => accessor.State.Model is { } m
            ? Download(http, $"model-round-{m.Round}.safetensors", "application/octet-stream", s => Safetensors.Write(s, m.Model, new Dictionary<string, string>(accessor.State.Options.ModelMetadata) { ["round"] = m.Round.ToString(CultureInfo.InvariantCulture) }))
            : Problem(StatusCodes.Status404NotFound, "No model yet", "no run has started yet, so there is no global model")))
            .WithSummary("The current global model (safetensors; admin only on a server with a kit).").AdminAction();

        api.MapGet("/model.npz", (HttpContext http) => Private(http, accessor.State, () => accessor.State.Model is { } m
            ? Download(http, $"model-round-{m.Round}.npz", "application/octet-stream", s => NpzWriter.Write(s, m.Model))
            : Problem(StatusCodes.Status404NotFound, "No model yet", "no run has started yet, so there is no global model")))
            .WithSummary("The current global model as a NumPy .npz archive (numpy.load; admin only on a server with a kit).").AdminAction();

        api.MapGet("/events", (int? limit) =>
        {
            int n = limit ?? 100;
            if (n is < 1 or > 10000)
            {
                return Problem(StatusCodes.Status400BadRequest, "Bad limit", $"limit must be in [1, 10000], got {n}");
            }

            return Results.Json(accessor.State.Events(n), JsonOptions);
        }).WithSummary("Recent events, newest first (node joined/left, rounds, operator actions).");

        api.MapGet("/events/stored", (string? run, int? limit) =>
        {
            if (accessor.State.Store is not { } store)
            {
                return Problem(StatusCodes.Status404NotFound, "No state directory", "this server keeps no state directory, so there is no stored events log");
            }

            var rows = store.Events(run);
            return Results.Json(rows.Reverse().Take(Math.Clamp(limit ?? 200, 1, 10000)).Select(e => new { e.Id, run_id = e.RunId, e.At, e.Kind, e.Detail }), JsonOptions);
        }).WithSummary("The state directory's append-only events log (durable audit trail), newest first.");

        api.MapGet("/events/stream", StreamAsync).WithSummary("Live updates as server-sent events: round, run, nodes, event, control.");

        api.MapGet("/privacy", () => Results.Json(Privacy(accessor.State), JsonOptions))
            .WithSummary("Privacy ledger of the current run: the epsilon and delta metrics of each round.");

        // Demo actions answer only with InspectorOptions.Demo; their own group name keeps them out of the OpenAPI
        // description otherwise (AddServices).
        var demo = api.MapGroup("/demo").WithGroupName(DemoTag).AddEndpointFilter(async (context, next) => accessor.State.Options.Demo
            ? await next(context).ConfigureAwait(false)
            : Problem(StatusCodes.Status404NotFound, "Not a demo server", "demo actions exist only on a demo server (--demo)"));
        {
            demo.MapPost("/generate", (HttpContext http, int? seed) => Admin(http, accessor.State, accessor.State.Insecure, who =>
            {
                int s = seed ?? Random.Shared.Next(1, 1_000_000);
                var notification = new LifecycleNotification(NotificationTypes.DemoGenerateData, accessor.State.Current?.Id ?? "", new JsonObject { ["seed"] = s });
                accessor.State.Registry.Broadcast(new OutboundNotification(notification));
                accessor.State.AddAuditEvent("demo_generate", $"{who} asked every client to generate new synthetic data (seed {s})");
                return Results.Json(new JsonObject { ["seed"] = s, ["clients"] = accessor.State.Registry.Count }, JsonOptions, statusCode: StatusCodes.Status202Accepted);
            })).WithSummary("Demo only, admin: every client generates new synthetic sensor data.").AdminAction();

            demo.MapGet("/data", () => Results.Json(new JsonArray([.. accessor.State.Nodes().Where(n => n.GoneAt is null).Select(n => (JsonNode)new JsonObject
            {
                ["id"] = n.Node.Id,
                ["name"] = n.Node.Name,
                ["data"] = n.LastMetrics is { } m ? InspectorState.Metrics(FilterData(m)) : null,
            })]), JsonOptions)).WithSummary("Demo only: each client's data summary (from its latest reply).");
        }

        return root;
    }

    private static MetricRecord FilterData(MetricRecord m)
    {
        var r = new MetricRecord();
        foreach (var (k, v) in m)
        {
            if (k.StartsWith("data_", StringComparison.Ordinal) || k == RecordNames.NumExamples)
            {
                r[k] = v;
            }
        }

        return r;
    }

    private static JsonObject Status(InspectorState state, bool insecure) => new()
    {
        ["control"] = JsonSerializer.SerializeToNode(state.Control.State, JsonOptions),
        ["run_id"] = state.Current?.Id,
        ["demo"] = state.Options.Demo,
        ["admin_required"] = state.AdminAuthenticator is not null || !insecure,
        ["keep_client_weights"] = state.Options.KeepClientWeights,
        ["secure_aggregation"] = state.Options.SecureAggregation,
        ["stages"] = state.Options.SecureAggregation
            ? new JsonArray(Core.SecureAggregation.SecAggNames.Setup, Core.SecureAggregation.SecAggNames.ShareKeys, Core.SecureAggregation.SecAggNames.CollectMasked, Core.SecureAggregation.SecAggNames.Unmask, "evaluate")
            : new JsonArray("train", "evaluate"),
        ["nodes"] = state.Registry.Count,
        ["openapi"] = $"openapi/{state.OpenApiDocument}.json",
    };

    private static JsonArray ListRuns(InspectorState state)
    {
        var list = new JsonArray();
        var live = state.Runs();
        foreach (var run in live.Reverse())
        {
            list.Add(DescribeRun(state, run, withRounds: false));
        }

        if (state.Store is { } store)
        {
            foreach (var row in store.ListRuns().Where(r => live.All(l => l.Id != r.Id)))
            {
                list.Add(new JsonObject
                {
                    ["id"] = row.Id,
                    ["status"] = row.Status,
                    ["source"] = "state",
                    ["rounds_done"] = row.RoundsDone,
                    ["stop_reason"] = row.StopReason,
                    ["stop_detail"] = row.StopDetail,
                    ["started_at"] = row.CreatedAt,
                });
            }
        }

        return list;
    }

    private static JsonObject DescribeRun(InspectorState state, RunView run, bool withRounds)
    {
        var rounds = state.RoundsOf(run);
        var o = new JsonObject
        {
            ["id"] = run.Id,
            ["status"] = run.Status,
            ["source"] = "live",
            ["current"] = ReferenceEquals(state.Current, run),
            ["rounds_done"] = rounds.Count,
            ["round_in_flight"] = run.RoundInFlight,
            ["rounds_limit"] = run.Config.TryGetValue("rounds", out var limit) && limit is int l ? l : null,
            ["stop_reason"] = run.StopReason,
            ["stop_detail"] = run.StopDetail,
            ["started_at"] = run.StartedAt,
            ["finished_at"] = run.FinishedAt,
        };
        if (withRounds)
        {
            o["config"] = JsonSerializer.SerializeToNode(run.Config, JsonOptions);
            o["rounds"] = new JsonArray([.. rounds.Select(r => (JsonNode)InspectorState.DescribeRound(r))]);
        }

        return o;
    }

    private static JsonObject Privacy(InspectorState state)
    {
        var rounds = new JsonArray();
        if (state.Current is { } run)
        {
            foreach (var r in state.RoundsOf(run))
            {
                var entries = new JsonObject();
                foreach (var (k, v) in r.Train.Concat(r.Evaluate))
                {
                    if ((k.Contains("epsilon", StringComparison.Ordinal) || k.Contains("delta", StringComparison.Ordinal)) && !entries.ContainsKey(k))
                    {
                        entries[k] = double.IsFinite(v) ? v : null;
                    }
                }

                if (entries.Count > 0)
                {
                    entries["round"] = r.Round;
                    rounds.Add(entries);
                }
            }
        }

        var budget = state.Current?.Config.TryGetValue("target_epsilon", out var b) == true ? b : null;
        return new JsonObject
        {
            ["run_id"] = state.Current?.Id,
            ["enabled"] = rounds.Count > 0,
            ["budget"] = budget is null ? null : JsonSerializer.SerializeToNode(budget, JsonOptions),
            ["rounds"] = rounds,
        };
    }

    private static IResult? CheckCurrent(InspectorState state, string id)
    {
        if (state.Current is not { } current)
        {
            return Problem(StatusCodes.Status409Conflict, "No run", "no run has started yet");
        }

        if (id == "current" || id == current.Id)
        {
            return null;
        }

        return state.FindRun(id) is null
            ? Problem(StatusCodes.Status404NotFound, "Unknown run", $"no run with id '{id}'; GET /api/runs lists the runs")
            : Problem(StatusCodes.Status409Conflict, "Run has ended", $"run '{id}' has ended; only the current run ('current', {current.Id}) can be controlled");
    }

    /// <summary>Runs an admin action when the request carries an admin credential; 401 problem+json otherwise.</summary>
    private static IResult Admin(HttpContext http, InspectorState state, bool insecure, Func<string, IResult> action)
    {
        string who;
        if (state.AdminAuthenticator is { } authenticator)
        {
            var name = authenticator.Authenticate(http.Request.Headers.Authorization.FirstOrDefault(), out var problem);
            if (name is null)
            {
                http.Response.Headers.WWWAuthenticate = "Bearer";
                return Problem(StatusCodes.Status401Unauthorized, "Admin credential required", problem ?? "admin credential refused");
            }

            who = name;
        }
        else if (insecure)
        {
            who = "an unauthenticated operator";
        }
        else
        {
            return Problem(StatusCodes.Status401Unauthorized, "Admin actions are disabled", "this server has no admin credential configured; start it with --admin-token TOKEN to allow admin actions");
        }

        return action(who);
    }

    /// <summary>
    /// Serves what a secure federation keeps from outsiders (the global model, per-node details): on a server with a
    /// kit only to an admin (401 otherwise), on an insecure development server to anyone.
    /// </summary>
    private static IResult Private(HttpContext http, InspectorState state, Func<IResult> read) =>
        state.Insecure ? read() : Admin(http, state, insecure: false, _ => read());

    /// <summary>Documents an admin action's refusals in the OpenAPI description.</summary>
    private static RouteHandlerBuilder AdminAction(this RouteHandlerBuilder builder) => builder
        .ProducesProblem(StatusCodes.Status401Unauthorized)
        .ProducesProblem(StatusCodes.Status409Conflict);

    internal static IResult Problem(int status, string title, string detail) =>
        Results.Problem(detail: detail, statusCode: status, title: title);

    private static IResult Download(HttpContext http, string fileName, string contentType, Action<Stream> write)
    {
        return Results.Stream(
            async body =>
            {
                // The writers are synchronous; buffer through a temporary file so the response is written asynchronously.
                var tmp = Path.Combine(Path.GetTempPath(), "federate-download-" + Guid.NewGuid().ToString("N"));
                try
                {
                    await using (var file = new FileStream(tmp, FileMode.Create, FileAccess.ReadWrite, FileShare.None, 1 << 16, FileOptions.DeleteOnClose | FileOptions.Asynchronous))
                    {
                        write(file);
                        file.Position = 0;
                        await file.CopyToAsync(body, 1 << 20, http.RequestAborted).ConfigureAwait(false);
                    }
                }
                catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
                {
                    // The browser went away.
                }
            },
            contentType,
            fileName);
    }

    private static async Task StreamAsync(HttpContext http, IHostApplicationLifetime lifetime, InspectorStateAccessor accessor)
    {
        var state = accessor.State;
        http.Response.Headers.ContentType = "text/event-stream";
        http.Response.Headers.CacheControl = "no-cache";
        http.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        var reader = state.Subscribe();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted, lifetime.ApplicationStopping);
        try
        {
            await http.Response.WriteAsync($"event: hello\ndata: {JsonSerializer.Serialize(new { run_id = state.Current?.Id }, JsonOptions)}\n\n", stop.Token).ConfigureAwait(false);
            await http.Response.Body.FlushAsync(stop.Token).ConfigureAwait(false);
            using var keepAlive = new PeriodicTimer(TimeSpan.FromSeconds(15));
            var tick = keepAlive.WaitForNextTickAsync(stop.Token).AsTask();
            while (!stop.IsCancellationRequested)
            {
                var next = reader.WaitToReadAsync(stop.Token).AsTask();
                var done = await Task.WhenAny(next, tick).ConfigureAwait(false);
                if (done == tick)
                {
                    await tick.ConfigureAwait(false);
                    await http.Response.WriteAsync(": keep-alive\n\n", stop.Token).ConfigureAwait(false);
                    tick = keepAlive.WaitForNextTickAsync(stop.Token).AsTask();
                }
                else if (!await next.ConfigureAwait(false))
                {
                    break;
                }

                while (reader.TryRead(out var item))
                {
                    await http.Response.WriteAsync($"event: {item.Type}\ndata: {item.Data}\n\n", stop.Token).ConfigureAwait(false);
                }

                await http.Response.Body.FlushAsync(stop.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            // The browser left or the server is stopping.
        }
        finally
        {
            state.Unsubscribe(reader);
        }
    }

    private static IResult Asset(string name, string contentType)
    {
        var stream = typeof(InspectorEndpoints).Assembly.GetManifestResourceStream("Federate.Server.Inspector.wwwroot." + name);
        return stream is null
            ? Problem(StatusCodes.Status500InternalServerError, "Missing asset", $"the dashboard asset '{name}' is missing from Federate.Server; rebuild the project")
            : Results.Stream(stream, contentType);
    }
}
