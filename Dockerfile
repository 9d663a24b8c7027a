# One image for every walrus service: `docker run walrus <collector|decider|applier|historian|all>`.
FROM node:20-bookworm-slim
ENV PNPM_VERSION=10.34.9 \
    NODE_ENV=production
RUN npm install -g "pnpm@${PNPM_VERSION}"
WORKDIR /app
# Manifests first, so that dependency layers are reused when only code changes.
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml .npmrc ./
COPY packages/core/package.json packages/core/
COPY packages/runtime/package.json packages/runtime/
COPY packages/cluster/package.json packages/cluster/
COPY packages/cli/package.json packages/cli/
COPY packages/servers/package.json packages/servers/
COPY services/collector/package.json services/collector/
COPY services/decider/package.json services/decider/
COPY services/applier/package.json services/applier/
COPY services/historian/package.json services/historian/
COPY services/control/package.json services/control/
COPY test/package.json test/
# The services need only their own packages, not the test servers: --filter-prod
# follows production dependencies only, so @walrus/servers (a devDependency of
# the cli, for `walrus demo`) and its four PostgreSQL builds stay out.
RUN pnpm install --frozen-lockfile --prod --filter-prod "@walrus/cli..."
COPY packages packages
COPY services services
USER node
# node options as in packages/cli/src/node-args.ts (a larger young generation: see docs/SCALING.md).
ENTRYPOINT ["node", "--max-semi-space-size=64", "packages/cli/bin/walrus.mjs"]
CMD ["all"]
