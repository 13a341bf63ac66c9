import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { Clock, montrealDay } from '#libs/config';
import { OutboxService } from '#libs/outbox';

export interface NewCollectionReport {
  citizenId: string;
  serviceId: string;
  organisationId: string;
  attributes: string[];
  reAsked: string[];
  firstTime: string[];
}

export interface CollectionReportView {
  service: string;
  organisation: string;
  attributes: string[];
  reAsked: string[];
  firstTime: string[];
  reportedAt: string;
}

/**
 * What services still asked citizens directly (Ambition 2's numerator): the
 * report and its metric event are written together, in the caller's
 * transaction. No value, only attribute codes.
 */
@Injectable()
export class CollectionReports {
  constructor(
    private readonly outbox: OutboxService,
    private readonly clock: Clock,
  ) {}

  async record(em: EntityManager, report: NewCollectionReport): Promise<string> {
    const id = randomUUID();
    await em.query(
      `INSERT INTO collection_report (citizen_id, id, service_id, organisation_id, attributes, re_asked, first_time)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [
        report.citizenId,
        id,
        report.serviceId,
        report.organisationId,
        report.attributes,
        report.reAsked,
        report.firstTime,
      ],
    );
    await this.outbox.metric(em, {
      type: 'collection',
      data: {
        reportId: id,
        service: report.serviceId,
        organisation: report.organisationId,
        reAsked: report.reAsked.length,
        attributes: report.attributes.length,
        day: montrealDay(this.clock.now()),
      },
    });
    return id;
  }

  /** A citizen's reports, oldest first (their export). */
  async forCitizen(em: EntityManager, citizenId: string): Promise<CollectionReportView[]> {
    const rows: (Omit<CollectionReportView, 'reportedAt'> & { reportedAt: Date })[] = await em.query(
      `SELECT service_id AS service, organisation_id AS organisation, attributes, re_asked AS "reAsked",
              first_time AS "firstTime", reported_at AS "reportedAt"
       FROM collection_report WHERE citizen_id = $1 ORDER BY reported_at`,
      [citizenId],
    );
    return rows.map((row) => ({ ...row, reportedAt: row.reportedAt.toISOString() }));
  }
}
