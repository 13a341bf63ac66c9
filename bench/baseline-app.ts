import 'reflect-metadata';
import { Body, Controller, HttpCode, Module, Post } from '@nestjs/common';
import { ApiProperty } from '@nestjs/swagger';
import { IsUUID } from 'class-validator';
import { DataSource } from 'typeorm';
import { AppConfig, ConfigModule } from '#libs/config';
import { DatabaseModule } from '#libs/database';
import { createHttpApp, HttpPlatformModule, Public } from '#libs/http';

class BaselineDto {
  @ApiProperty() @IsUUID() citizenId: string;
}

/**
 * The reference the broker is measured against: the same HTTP stack (Nest,
 * Express, validation, logging, problem filter) around the least a request
 * to PostgreSQL can be — one indexed read and one insert in a transaction.
 */
@Public()
@Controller('baseline')
class BaselineController {
  constructor(private readonly dataSource: DataSource) {}

  @Post()
  @HttpCode(200)
  async handle(@Body() body: BaselineDto) {
    // Named statements, as the broker's hot path uses: the baseline gets the same advantage.
    return this.dataSource.transaction(async (em) => {
      const client = (await em.queryRunner!.connect()) as {
        query(config: object): Promise<{ rows: { updated_at: Date }[] }>;
      };
      const { rows } = await client.query({
        name: 'baseline-read',
        text: `SELECT updated_at FROM attribute_value WHERE citizen_id = $1 AND attribute = 'contact.email'`,
        values: [body.citizenId],
      });
      await client.query({
        name: 'baseline-write',
        text: `INSERT INTO bench_baseline_log (citizen_id) VALUES ($1)`,
        values: [body.citizenId],
      });
      return { citizenId: body.citizenId, updatedAt: rows[0]?.updated_at ?? null };
    });
  }
}

@Module({
  imports: [
    ConfigModule.forRoot(),
    DatabaseModule.forApp(),
    HttpPlatformModule.forRoot({ redis: 'optional' }),
  ],
  controllers: [BaselineController],
})
class BaselineModule {}

const app = await createHttpApp(BaselineModule, { title: 'baseline', description: 'benchmark baseline' });
await app.listen(app.get(AppConfig).ports.broker, '127.0.0.1');
