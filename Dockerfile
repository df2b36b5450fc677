# syntax=docker/dockerfile:1
# The federate tool in a container: 'federate server' and 'federate client' (and sim, provision, ...).
#   docker build -t federate .
#   docker run --rm -p 9092:9092 -p 9093:9093 federate server --insecure
# compose.yaml runs a server, three clients and Prometheus. Build stage: the .NET SDK; runtime stage: the ASP.NET
# Core runtime only (the server is an ASP.NET Core app), as the image's non-root 'app' user.

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /source
# Restore first, from the project files only, so that a change of code does not download the packages again.
COPY global.json Directory.Build.props Directory.Build.targets Directory.Packages.props .editorconfig ./
COPY src/Federate.Cli/Federate.Cli.csproj src/Federate.Cli/
COPY src/Federate.Client/Federate.Client.csproj src/Federate.Client/
COPY src/Federate.Core/Federate.Core.csproj src/Federate.Core/
COPY src/Federate.Core/buildTransitive/ src/Federate.Core/buildTransitive/
COPY src/Federate.Learning/Federate.Learning.csproj src/Federate.Learning/
COPY src/Federate.Learning/buildTransitive/ src/Federate.Learning/buildTransitive/
COPY src/Federate.Protocol/Federate.Protocol.csproj src/Federate.Protocol/
COPY src/Federate.Security/Federate.Security.csproj src/Federate.Security/
COPY src/Federate.Server/Federate.Server.csproj src/Federate.Server/
COPY src/Federate.Server/buildTransitive/ src/Federate.Server/buildTransitive/
COPY src/Federate.Simulation/Federate.Simulation.csproj src/Federate.Simulation/
COPY src/Federate.State/Federate.State.csproj src/Federate.State/
RUN dotnet restore src/Federate.Cli/Federate.Cli.csproj
COPY proto/ proto/
COPY src/ src/
RUN dotnet publish src/Federate.Cli/Federate.Cli.csproj -c Release --no-restore -o /app -p:ContinuousIntegrationBuild=true

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
WORKDIR /app
COPY --from=build /app ./
# Run state, outputs and kits live under /data (a volume in compose.yaml), owned by the non-root user.
RUN mkdir -p /data && chown "$APP_UID" /data
USER $APP_UID
WORKDIR /data
# 9092: fleet API (gRPC, HTTP/2); 9093: inspector (dashboard, JSON API, Prometheus /metrics).
EXPOSE 9092 9093
ENTRYPOINT ["dotnet", "/app/federate.dll"]
CMD ["--help"]
