import { Option, type Command } from 'commander';
import { renderReviewMarkdown } from '../../core/review.js';
import { buildReview } from '../../workflow/reviews.js';
import { withContext, writeJson, type CliDeps } from '../io.js';
import { parseRecordId } from './rollout.js';

export function registerReviewCommands(program: Command, deps: CliDeps): void {
  program
    .command('review <case>')
    .description('The review of a case: what was patched, when, who decided, per-host outcomes, SLA, halts and lessons')
    .addOption(new Option('--format <format>', 'md (Markdown, times in the configured time zone) or json').choices(['md', 'json']).default('md'))
    .action(async (caseText: string, options: { format: 'md' | 'json' }) => {
      const caseId = parseRecordId(caseText, 'the case id');
      await withContext(deps, async (ctx) => {
        const review = await buildReview(ctx, caseId);
        if (options.format === 'json') writeJson(deps.io, review);
        else deps.io.stdout(renderReviewMarkdown(review, ctx.config.timezone));
      });
    });
}
